#!/usr/bin/env bash
# The daily docker CLI commands against a running lifeboat cluster (DOCKER_HOST set, e.g. by
# `lifeboat up`): one line per command, ok or FAIL with the last line of its output, and a count.
#   DOCKER_HOST=unix:///run/lifeboat/docker.sock test/clients/docker-daily.sh
set -u
ok=0; failed=0
run() {
  local out rc
  out=$("$@" 2>&1 </dev/null); rc=$?
  if [ $rc -eq 0 ]; then ok=$((ok + 1)); echo "ok    $*"
  else failed=$((failed + 1)); echo "FAIL  $*  -> $(echo "$out" | tail -1)"; fi
}
B=localhost/lifeboat/busybox; R=localhost/lifeboat/redis
docker rm -f dd1 dd2 dd3 dd4 >/dev/null 2>&1
run docker version; run docker info; run docker system info; run docker ps; run docker ps -a; run docker ps -q
run docker images; run docker image ls; run docker image ls -q
run docker run -d --name dd1 -p 6391:6379 $R; run docker run --rm $B echo hi
run docker create --name dd2 $B sleep 300; run docker start dd2; run docker stop -t 1 dd2
run docker restart -t 1 dd2; run docker kill dd2; run docker start dd2
run docker logs dd1; run docker logs --tail 2 dd1; run docker logs --since 1m dd1
run docker inspect dd1; run docker container inspect dd1; run docker port dd1
run docker top dd1; run docker stats --no-stream dd1; run docker stats --no-stream; run docker container stats --no-stream dd1
run docker exec dd1 redis-cli ping; run docker exec -e A=1 dd2 env; run docker exec -d dd2 true
run docker pause dd2; run docker unpause dd2; run docker rename dd2 dd3; run docker rename dd3 dd2
run docker update --cpu-shares 512 dd2; run docker diff dd1
run docker cp dd1:/etc/hostname /tmp/lifeboat-daily-hn; run docker cp /tmp/lifeboat-daily-hn dd1:/tmp/hn
run docker container export -o /tmp/lifeboat-daily.tar dd2
run docker wait dd2 & sleep 0.5; run docker kill dd2; wait
run docker container ls; run docker container ls -a --format '{{.Names}}'
run docker create --name dd4 $B true; run docker container rm dd4; run docker container prune -f
run docker image inspect $B; run docker history $B; run docker tag $B localhost/daily/x:1; run docker rmi localhost/daily/x:1
run docker image prune -f; run docker system df; run docker system prune -f
run docker network ls; run docker volume ls; run docker events --since 1m --until 0s
run docker checkpoint create dd1 c1; run docker checkpoint ls dd1; run docker start --checkpoint c1 dd1; run docker checkpoint rm dd1 c1
run docker rm -f dd1 dd2
run docker volume create daily-v; run docker volume inspect daily-v; run docker volume rm daily-v
run docker network create daily-n; run docker network inspect daily-n; run docker network rm daily-n
run docker pull busybox; run docker search redis
run docker build -t x - 
rm -f /tmp/lifeboat-daily-hn /tmp/lifeboat-daily.tar
echo "$ok ok, $failed failed"
