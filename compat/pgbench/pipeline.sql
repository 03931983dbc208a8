-- Three key reads sent as one pipeline (\startpipeline needs -M extended or prepared).
\set a random(1000001, 1000100)
\set b random(1000001, 1000100)
\startpipeline
SELECT name FROM users WHERE id = :a;
SELECT name FROM users WHERE id = :b;
SELECT amount FROM orders WHERE user_id = :a AND id = 2;
\endpipeline
