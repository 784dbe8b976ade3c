#!/bin/sh
# One PostgreSQL dump of the portfolio database, checked, then the dumps older than the retention removed.
# compose.yaml's `backup` service runs it (docker compose --profile backup run --rm backup), with the
# libpq variables PGHOST, PGUSER, PGDATABASE, PGPASSWORD; docs/OPERATIONS.md schedules it and restores it.
set -eu
dir="${BACKUP_DIR:-/backups}"
keep_days="${BACKUP_RETENTION_DAYS:-14}"
database="${PGDATABASE:-portfolio}"
stamp="$(date -u +%Y-%m-%dT%H%M%SZ)"
file="$dir/$database-$stamp.dump"

mkdir -p "$dir"
# Written under a temporary name and renamed once complete: a dump that failed half way is never
# mistaken for a backup, and never counts towards the retention.
pg_dump --format=custom --no-owner --file="$file.partial" "$database"
pg_restore --list "$file.partial" >/dev/null  # the archive reads back
mv "$file.partial" "$file"
echo "backup: $file ($(wc -c <"$file") bytes)"

# Retention: complete dumps older than BACKUP_RETENTION_DAYS days; the newest one is always kept.
newest="$(ls -1t "$dir"/"$database"-*.dump | head -n 1)"
find "$dir" -maxdepth 1 -name "$database-*.dump" -mtime +"$keep_days" ! -path "$newest" -print -exec rm -f {} +
find "$dir" -maxdepth 1 -name "$database-*.dump.partial" -mmin +1440 -exec rm -f {} +
