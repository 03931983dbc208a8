-- A read by shard key: one user and the user's orders (co-located on the same shard).
\set uid random(1000001, 1000100)
SELECT id, name, email, country FROM users WHERE id = :uid;
SELECT id, amount, status FROM orders WHERE user_id = :uid;
