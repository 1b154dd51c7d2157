"""--workers N per machine on a real multi-machine Ray cluster: two Ray nodes on this machine
(ray.cluster_utils.Cluster, Ray's own way to test clusters on one host), each with one CPU;
the plan puts an actor on each, and each actor runs on the node the plan names."""
import pytest

from colornet.cluster.archive import ActorPool, ColorizerSettings, actor_placements

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.slow  # two Ray nodes: about 6 s here


def test_actors_are_pinned_to_the_machines_the_plan_names():
    from ray.cluster_utils import Cluster
    from colornet.colorize.files import OutputSettings
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    try:
        cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        ray.init(address=cluster.address, log_to_driver=False)
        nodes = ray.nodes()
        placements = actor_placements("auto", 2, nodes)  # 2 asked per machine, 1 CPU each
        assert sorted(placements) == sorted(node["NodeID"] for node in nodes) and len(set(placements)) == 2
        pool = ActorPool(ray, placements, ColorizerSettings(), OutputSettings())
        assert ray.get([actor.node.remote() for actor in pool.actors], timeout=120) == placements
        # Reversed plan: the pinning follows the plan, not the order actors happen to start in.
        pool = ActorPool(ray, placements[::-1], ColorizerSettings(), OutputSettings())
        assert ray.get([actor.node.remote() for actor in pool.actors], timeout=120) == placements[::-1]
    finally:
        ray.shutdown()
        cluster.shutdown()
