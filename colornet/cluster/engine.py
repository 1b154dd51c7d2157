"""Starting and stopping Ray for a run: a local instance of our own, or a running cluster joined.

Where the local instance's start and stop go on this 2-core machine (bench_cluster measures the
whole command): ray.init 2.0 or 3.0 s, most of it Ray's wait for its raylet to register, which
its C++ accessor polls once a second (a workaround polling every 20 ms moved the bench's ratio by
less than its noise, 87 % against 88 %, so Ray's own wait is kept); ray.shutdown 1.3 s, of which
1.0 s is the grace it gives the autoscaler monitor: that one is cut (stop_autoscaler_monitor).
On a slower day of the same machine (2026-12-03: ray.init 3.7-4.6 s), 1.2-1.3 s of ray.init was
its wait for the API server (the dashboard's head process, started even without the dashboard,
then only for usage statistics), before the raylet is even started: a local instance of ours
goes without it (without_api_server).
"""
import contextlib
import logging
import os

log = logging.getLogger("cluster")


def start_ray(cluster, workers):
    """(ray, whether we started it): --cluster local starts an instance of our own (stopped at
    the end), an address joins a cluster; a process already connected to Ray keeps its connection."""
    import ray
    from colornet.common import REPO_ROOT
    if ray.is_initialized():
        return ray, False
    # The actors import colornet from this checkout, whatever folder the command was started in
    # (on a cluster: the same path on every machine, as `ray start` there needs the project too).
    python_path = os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))
    if cluster == "local":
        # The local instance's workers inherit this environment; a runtime_env would start every
        # actor in a fresh worker through Ray's runtime-env agent (0.6-0.7 s more here).
        os.environ["PYTHONPATH"] = python_path
        with without_api_server(ray):
            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False, configure_logging=False)
    else:
        ray.init(address=cluster, log_to_driver=False, configure_logging=False,
                 runtime_env={"env_vars": {"PYTHONPATH": python_path}})
    return ray, True


def stop_ray(ray, cluster):
    """Disconnect; a local instance of ours is stopped (its autoscaler monitor first, see below)."""
    if cluster == "local":
        stop_autoscaler_monitor(ray)
    ray.shutdown()


def stop_autoscaler_monitor(ray):
    """Kill the local instance's autoscaler monitor before ray.shutdown: it takes the whole second
    that shutdown gives each process to exit on SIGTERM (1.01 of shutdown's 1.32 s, measured), and
    a local instance has nothing for it to scale. Ray's private API (the pinned version): if it
    changes, the plain shutdown does the work, a second slower."""
    try:
        for info in ray._private.worker._global_node.all_processes.get("monitor", []):
            info.process.kill()
            info.process.wait(timeout=1)
    except Exception as error:  # noqa: BLE001 — the plain shutdown follows either way
        log.debug("autoscaler monitor left to ray.shutdown: %r", error)


@contextlib.contextmanager
def without_api_server(ray):
    """Start a local instance without its API server: ray.init starts that process (the dashboard's
    head) even with include_dashboard=False, to serve the job, state and usage-statistics APIs, and
    waits until it has published its address (1.2-1.3 s of a 3.7-4.6 s ray.init, measured) before it
    starts the raylet. Nothing here uses those APIs: actors, tasks and ray.get go through the GCS
    and the raylet. Ray's private API (the pinned version): if it changes, the instance starts with
    the server, a second slower."""
    try:
        node_class = ray._private.node.Node
        original = node_class.start_api_server
    except AttributeError as error:
        log.debug("API server left to ray.init: %r", error)
        yield
        return
    node_class.start_api_server = lambda self, **_: None
    try:
        yield
    finally:
        node_class.start_api_server = original
