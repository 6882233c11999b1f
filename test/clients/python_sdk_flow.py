"""The everyday Docker SDK for Python flows against a lifeboat endpoint.

Run by test/clients/python-sdk.test.ts with DOCKER_HOST set; prints one
line per step (`ok <step>`) and exits non-zero at the first failure.
"""
import sys

import docker

IMAGE = "localhost/lifeboat/busybox:latest"
REDIS = "localhost/lifeboat/redis:latest"


def step(name):
    print("ok", name, flush=True)


client = docker.from_env(version="auto", timeout=60)
assert client.ping()
step("ping")
assert client.version()["ApiVersion"]
step("version")
assert "Containers" in client.info()
step("info")

image = client.images.get(IMAGE)
assert image.id.startswith("sha256:"), image.id
assert IMAGE in image.tags, image.tags
step("images.get")
assert any(IMAGE in i.tags for i in client.images.list())
step("images.list")
try:
    client.images.get("localhost/lifeboat/nothing-here:latest")
    sys.exit("images.get of a missing image did not raise")
except docker.errors.ImageNotFound:
    step("images.get missing -> ImageNotFound")

out = client.containers.run(IMAGE, ["sh", "-c", "echo hello from python"], remove=True)
assert out == b"hello from python\n", out
step("containers.run (attached, removed)")

c = client.containers.run(
    REDIS,
    detach=True,
    name="py-redis",
    labels={"suite": "python"},
    environment={"PYTHON_SDK": "1"},
    ports={"6379/tcp": None},
    cap_drop=["NET_RAW"],
    read_only=False,
    mem_limit="64m",
    pids_limit=100,
    restart_policy={"Name": "on-failure", "MaximumRetryCount": 2},
)
c.reload()
assert c.status == "running", c.status
assert c.attrs["HostConfig"]["LogConfig"]["Type"] == "json-file", c.attrs["HostConfig"]["LogConfig"]
assert c.attrs["HostConfig"]["CapDrop"] == ["CAP_NET_RAW"] or c.attrs["HostConfig"]["CapDrop"] == ["NET_RAW"], c.attrs["HostConfig"]["CapDrop"]
assert c.attrs["HostConfig"]["PidsLimit"] == 100, c.attrs["HostConfig"]["PidsLimit"]
assert c.labels["suite"] == "python"
step("containers.run detached, reload, attrs")

code, output = c.exec_run(["redis-cli", "SET", "k", "v"])
assert code == 0 and output.strip() == b"OK", (code, output)
code, output = c.exec_run(["sh", "-c", "echo $PYTHON_SDK; exit 4"])
assert code == 4 and output == b"1\n", (code, output)
step("exec_run (exit codes, environment)")

assert b"Ready to accept connections" in c.logs()
assert c.logs(tail=1) != b""
step("logs")
assert b"Ready to accept connections" in c.attach(stdout=True, stderr=True, stream=False, logs=True)
step("attach(stream=False, logs=True)")
# it lives long enough for wait() to arrive first: one already removed is a 404, with dockerd too
waited = client.containers.run(IMAGE, ["sh", "-c", "sleep 2; exit 3"], detach=True, auto_remove=True)
assert waited.wait()["StatusCode"] == 3
step("wait on an auto-remove container: its exit code")

assert [x.name for x in client.containers.list(filters={"label": "suite=python"})] == ["py-redis"]
step("containers.list with a label filter")

try:
    client.containers.run(IMAGE, "true", cpu_rt_period=1000)
    sys.exit("a refused field was accepted")
except docker.errors.APIError as e:
    assert e.status_code == 400 and "CpuRealtimePeriod" in str(e), e
    step("refused field -> 400 naming it")

c.stop(timeout=1)
c.reload()
assert c.status == "exited", c.status
c.remove()
step("stop, remove")
try:
    client.containers.get("py-redis")
    sys.exit("removed container still there")
except docker.errors.NotFound:
    step("containers.get missing -> NotFound")
print("all ok")
