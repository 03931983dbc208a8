-- A short read-write transaction on the suite's own rows (8000000-8000049, created by
-- test_pgbench.sh), routed by key.
\set uid random(8000000, 8000049)
\set amount random(1, 1000)
BEGIN;
UPDATE users SET email = 'bench' || :uid || '@example.com' WHERE id = :uid;
UPDATE orders SET amount = :amount WHERE user_id = :uid AND id = 1;
SELECT name, email FROM users WHERE id = :uid;
END;
