-- The demo's schema and sample data (Sources/pgshard/Demo.swift), for one unsharded
-- PostgreSQL database: `scripts/compat.sh --direct` runs every client against it to check
-- that the client programs themselves are right.
CREATE TABLE IF NOT EXISTS users (id bigint PRIMARY KEY, name text NOT NULL, email text,
                                  country text, created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE IF NOT EXISTS orders (id bigint NOT NULL, user_id bigint NOT NULL, amount numeric(10,2) NOT NULL,
                                   status text NOT NULL DEFAULT 'new', PRIMARY KEY (user_id, id));
CREATE TABLE IF NOT EXISTS countries (code text PRIMARY KEY, name text NOT NULL);

INSERT INTO countries (code, name)
VALUES ('de', 'Germany'), ('fr', 'France'), ('jp', 'Japan'), ('br', 'Brazil'), ('us', 'United States')
ON CONFLICT DO NOTHING;

INSERT INTO users (id, name, email, country)
SELECT 1000000 + i, 'user ' || i, 'user' || i || '@example.com', (ARRAY['de', 'fr', 'jp', 'br', 'us'])[i % 5 + 1]
FROM generate_series(1, 100) AS i
ON CONFLICT DO NOTHING;

INSERT INTO orders (id, user_id, amount)
SELECT j, 1000000 + i, i * j + 0.50
FROM generate_series(1, 100) AS i, generate_series(1, 3) AS j
ON CONFLICT DO NOTHING;
