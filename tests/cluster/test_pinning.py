"""--workers N per machine on a real multi-machine Ray cluster: two Ray nodes on this machine
(ray.cluster_utils.Cluster, Ray's own way to test clusters on one host), each with two CPUs;
the plan puts actors on each, and each actor runs on the node the plan names, even where Ray
on its own would have spread them."""
import pytest

from colornet.cluster.archive import ActorPool, ColorizerSettings, actor_placements

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.slow  # two Ray nodes: about 6 s here


def test_actors_are_pinned_to_the_machines_the_plan_names():
    from ray.cluster_utils import Cluster
    from colornet.colorize.files import OutputSettings
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 2, "include_dashboard": False})
    try:
        cluster.add_node(num_cpus=2)
        cluster.wait_for_nodes()
        ray.init(address=cluster.address, log_to_driver=False)
        nodes = ray.nodes()
        placements = actor_placements("auto", 3, nodes)  # 3 asked per machine, 2 CPUs each
        first, second = placements[:2]
        assert placements == [first, second, first, second] and first != second
        assert {first, second} == {node["NodeID"] for node in nodes}
        pool = ActorPool(ray, placements, ColorizerSettings(), OutputSettings())
        assert ray.get([actor.node.remote() for actor in pool.actors], timeout=120) == placements
        del pool  # its actors end with their handles
        # Both on one machine, then both on the other: the plan decides, not Ray's spreading.
        for machine in (second, first):
            pool = ActorPool(ray, [machine, machine], ColorizerSettings(), OutputSettings())
            assert ray.get([actor.node.remote() for actor in pool.actors], timeout=120) == [machine, machine]
            del pool
    finally:
        ray.shutdown()
        cluster.shutdown()
