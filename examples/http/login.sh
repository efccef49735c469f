#!/bin/sh
# The login service over HTTP only: one user.login CloudEvent per user named, POSTed in
# binary mode with curl; each POST returns once ferryd has taken the event (its confirm).
#   FERRY_HTTP=127.0.0.1:7412 examples/http/login.sh alice bob
set -eu
http=${FERRY_HTTP:-127.0.0.1:7412}
for user in "$@"; do
  id=$(cat /proc/sys/kernel/random/uuid)
  curl -fsS -X POST "http://$http/v1/topics/user.login/messages" \
    -H 'ce-specversion: 1.0' -H "ce-id: $id" -H 'ce-source: /login' \
    -H 'ce-type: user.login' -H "ce-subject: $user" \
    -H "ce-time: $(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)" \
    -H 'Content-Type: application/json' -d "{\"user\": \"$user\"}" >/dev/null
  echo "login $user ($id)"
done
