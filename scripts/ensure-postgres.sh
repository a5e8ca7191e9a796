#!/usr/bin/env bash
# Start the machine's PostgreSQL cluster if it is not accepting connections yet.
# The store tests use CATALOGUE_TEST_PG_URL (default: postgres@127.0.0.1:5432/test).
set -euo pipefail
host=${PGHOST_TEST:-127.0.0.1}
if pg_isready -q -h "$host" -p 5432 2>/dev/null; then
    exit 0
fi
if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    for version in $(ls /etc/postgresql); do
        pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    done
fi
for _ in $(seq 1 30); do
    pg_isready -q -h "$host" -p 5432 2>/dev/null && exit 0
    sleep 1
done
echo "PostgreSQL is not running on $host:5432; the store tests need it (see README)" >&2
exit 1
