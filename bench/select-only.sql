-- pgbench's built-in "select-only" transaction (pgbench -S), as a script file so that pgbench
-- skips its start-up "select count(*) from pgbench_branches" (a cross-shard aggregate).
\set aid random(1, 100000 * :scale)
SELECT abalance FROM pgbench_accounts WHERE aid = :aid;
