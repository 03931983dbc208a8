'use strict'
// node-postgres (pg 8.8, Debian's node-pg) through pgshard: the way an application uses it.
//
// pg sends a query without values as a simple Query (several statements allowed) and one with
// values as Parse/Bind/Describe(portal)/Execute/Sync on the unnamed statement; a query with a
// `name` is parsed once per connection as that named statement and then only bound. Values go
// as text, Buffers as binary; results are always text (pg 8.8's `binary: true` writes a Bind
// message without the result-format count, which PostgreSQL itself rejects). pg-cursor reads a portal with Execute(max rows) and
// PortalSuspended. Startup parameters: application_name, statement_timeout, options.
// Rows written here use ids 5_000_000 and up.
//
// Arguments: --host H --port P --user U --dbname D (else PGHOST, PGPORT, PGUSER, PGDATABASE).

const pg = require('pg')
const Cursor = require('pg-cursor')

const BASE = 5000000
const CHECK_MS = 20000
const OWN_IDS = Array.from({ length: 100 }, (_, i) => BASE + i)
const SEEDED = new Map(Array.from({ length: 100 }, (_, i) => [String(1000001 + i), `user ${i + 1}`]))

function parseArgs () {
  const options = {}
  const argv = process.argv.slice(2)
  for (let i = 0; i + 1 < argv.length; i += 2) options[argv[i].replace(/^--/, '')] = argv[i + 1]
  return {
    host: options.host || process.env.PGHOST || '127.0.0.1',
    port: Number(options.port || process.env.PGPORT || 6432),
    user: options.user || process.env.PGUSER || 'demo',
    database: options.dbname || process.env.PGDATABASE || 'demo'
  }
}

const PARAMS = parseArgs()
let passed = 0
let failed = 0
const open = new Set()

async function connect (extra = {}) {
  const client = new pg.Client({ ...PARAMS, connectionTimeoutMillis: 10000, ...extra })
  client.on('error', () => {}) // a connection pgshard closes must not crash the program
  open.add(client)
  await client.connect()
  return client
}

async function close (client) {
  open.delete(client)
  try {
    await Promise.race([client.end(), new Promise(resolve => setTimeout(resolve, 2000))])
  } catch (_) {}
}

function expect (condition, message) {
  if (!condition) throw new Error(message)
}

function expectEqual (actual, expected, what) {
  const a = JSON.stringify(actual)
  const e = JSON.stringify(expected)
  if (a !== e) throw new Error(`${what}: expected ${e}, got ${a}`)
}

function describe (error) {
  const code = error && error.code ? ` [${error.code}]` : ''
  const text = String((error && error.message) || error).replace(/\s+/g, ' ')
  return `${(error && error.constructor && error.constructor.name) || 'Error'}${code}: ${text}`.slice(0, 400)
}

async function run (name, check) {
  let timer
  const clients = new Set(open)
  try {
    await Promise.race([
      check(),
      new Promise((resolve, reject) => { timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_MS / 1000} s`)), CHECK_MS) })
    ])
    passed++
    console.log(`PASS ${name}`)
  } catch (error) {
    failed++
    console.log(`FAIL ${name}: ${describe(error)}`)
  } finally {
    clearTimeout(timer)
    // Close whatever the check left open (after a failure or a time-out).
    for (const client of open) if (!clients.has(client)) await close(client)
  }
}

// `async with`: a client closed at the end of the check.
async function withClient (extra, body) {
  const client = await connect(extra)
  try {
    return await body(client)
  } finally {
    await close(client)
  }
}

async function cleanup () {
  await withClient({}, async client => {
    // No values: a simple Query, which every pgshard version carries.
    await client.query(`DELETE FROM orders WHERE user_id IN (${OWN_IDS.join(', ')})`)
    await client.query(`DELETE FROM users WHERE id IN (${OWN_IDS.join(', ')})`)
  })
}

const checks = {
  async connect () {
    await withClient({}, async client => {
      const result = await client.query('SELECT 1 AS one')
      expectEqual(result.rows, [{ one: 1 }], 'SELECT 1')
    })
  },

  async select_literal () {
    await withClient({}, async client => {
      const result = await client.query('SELECT id, name, country FROM users WHERE id = 1000001')
      expectEqual(result.rows, [{ id: '1000001', name: 'user 1', country: 'fr' }], 'rows')
    })
  },

  async select_param () {
    await withClient({}, async client => {
      const user = await client.query('SELECT id, name FROM users WHERE id = $1', [1000042])
      expectEqual(user.rows, [{ id: '1000042', name: 'user 42' }], 'user')
      const orders = await client.query('SELECT id, amount FROM orders WHERE user_id = $1', ['1000042'])
      expectEqual(orders.rows.map(r => `${r.id}:${r.amount}`).sort(), ['1:42.50', '2:84.50', '3:126.50'], 'orders')
    })
  },

  async multi_statement () {
    await withClient({}, async client => {
      const results = await client.query("SELECT name FROM users WHERE id = 1000001; SELECT name FROM users WHERE id = 1000002; SET application_name = 'compat-node-multi'")
      expectEqual(results.map(r => r.command), ['SELECT', 'SELECT', 'SET'], 'commands')
      expectEqual([results[0].rows, results[1].rows], [[{ name: 'user 1' }], [{ name: 'user 2' }]], 'rows')
    })
  },

  async insert_returning () {
    await withClient({}, async client => {
      const result = await client.query(
        'INSERT INTO users (id, name, email, country) VALUES ($1, $2, $3, $4) RETURNING id, name, created_at',
        [BASE + 1, 'Zoë Ñandú 東京', 'zoe@example.com', 'jp'])
      expectEqual(result.rowCount, 1, 'rowCount')
      expectEqual([result.rows[0].id, result.rows[0].name], [String(BASE + 1), 'Zoë Ñandú 東京'], 'returned row')
      expect(result.rows[0].created_at instanceof Date, 'created_at default')
    })
  },

  async update_delete_rowcount () {
    await withClient({}, async client => {
      await client.query('INSERT INTO users (id, name) VALUES ($1, $2)', [BASE + 2, 'to update'])
      expectEqual((await client.query('UPDATE users SET email = $1 WHERE id = $2', ['u@example.com', BASE + 2])).rowCount, 1, 'UPDATE rowCount')
      expectEqual((await client.query('UPDATE users SET email = $1 WHERE id = $2', ['u@example.com', BASE + 99])).rowCount, 0, 'UPDATE of a missing key')
      expectEqual((await client.query('DELETE FROM users WHERE id = $1', [BASE + 2])).rowCount, 1, 'DELETE rowCount')
      expectEqual((await client.query('SELECT id FROM users WHERE id = $1', [BASE + 2])).rows, [], 'gone')
    })
  },

  async multi_shard_select () {
    await withClient({}, async client => {
      const result = await client.query('SELECT id, name FROM users')
      const seen = new Map(result.rows.filter(r => SEEDED.has(r.id)).map(r => [r.id, r.name]))
      expectEqual(seen.size, 100, 'seeded users seen')
      for (const [id, name] of SEEDED) expectEqual(seen.get(id), name, `name of ${id}`)
      expectEqual(new Set(result.rows.map(r => r.id)).size, result.rows.length, 'no duplicate rows')
    })
  },

  async multi_shard_param () {
    await withClient({}, async client => {
      const result = await client.query('SELECT id FROM users WHERE country = $1', ['de'])
      const ids = result.rows.map(r => r.id).filter(id => SEEDED.has(id))
      expectEqual(ids.length, 20, 'seeded users with country de')
      expect(ids.every(id => (Number(id) - 1000000) % 5 === 0), 'only users with country de')
    })
  },

  async transaction_commit () {
    await withClient({}, async client => {
      await client.query('BEGIN')
      for (const id of [BASE + 10, BASE + 11, BASE + 12]) {
        await client.query('INSERT INTO users (id, name) VALUES ($1, $2)', [id, 'committed'])
      }
      await client.query('INSERT INTO orders (id, user_id, amount) VALUES ($1, $2, $3)', [1, BASE + 10, '9.99'])
      await client.query('COMMIT')
    })
    await withClient({}, async other => {
      const result = await other.query('SELECT id FROM users WHERE id = ANY($1::bigint[])', [[BASE + 10, BASE + 11, BASE + 12]])
      expectEqual(result.rows.map(r => r.id).sort(), [BASE + 10, BASE + 11, BASE + 12].map(String), 'committed rows')
    })
  },

  async transaction_rollback () {
    await withClient({}, async client => {
      await client.query('BEGIN')
      await client.query('INSERT INTO users (id, name) VALUES ($1, $2)', [BASE + 13, 'rolled back'])
      await client.query('INSERT INTO users (id, name) VALUES ($1, $2)', [BASE + 14, 'rolled back'])
      expectEqual((await client.query('SELECT id FROM users WHERE id = $1', [BASE + 13])).rowCount, 1, 'row visible inside the transaction')
      await client.query('ROLLBACK')
      for (const id of [BASE + 13, BASE + 14]) {
        expectEqual((await client.query('SELECT id FROM users WHERE id = $1', [id])).rowCount, 0, `row ${id} after ROLLBACK`)
      }
    })
  },

  async unique_violation () {
    await withClient({}, async client => {
      let error = null
      try {
        await client.query('INSERT INTO users (id, name) VALUES ($1, $2)', [1000001, 'duplicate'])
      } catch (caught) {
        error = caught
      }
      expect(error !== null, 'duplicate key accepted')
      expectEqual([error.code, error.constraint], ['23505', 'users_pkey'], `error fields (${error.message})`)
      expectEqual((await client.query('SELECT name FROM users WHERE id = $1', [1000001])).rows, [{ name: 'user 1' }], 'session works after the error')
    })
  },

  async nulls () {
    await withClient({}, async client => {
      await client.query('INSERT INTO users (id, name, email, country) VALUES ($1, $2, $3, $4)', [BASE + 3, 'no email', null, undefined])
      const row = (await client.query('SELECT email, country FROM users WHERE id = $1', [BASE + 3])).rows[0]
      expectEqual(row, { email: null, country: null }, 'NULL columns')
      const params = (await client.query('SELECT $1::int4 IS NULL AS n, $2::text AS t', [null, null])).rows[0]
      expectEqual(params, { n: true, t: null }, 'NULL parameters')
    })
  },

  async types_text () {
    await withClient({}, async client => {
      await client.query("SET TIME ZONE 'UTC'")
      const values = [-32768, 2147483647, '-9223372036854775808', '-12345678901234567890.0123456789', 0.1, true,
        "grüße, 日本語, emoji 🐘, quote ' and backslash \\", Buffer.from([0, 1, 0xfe, 0xff]),
        new Date(Date.UTC(2024, 1, 29, 23, 59, 58, 123)), '1999-12-31', '6f1c2a5e-7d1b-4c4e-9a51-3b2f8e0d9c01',
        JSON.stringify({ a: [1, 2.5, null, true], ü: '✓' })]
      const row = (await client.query({
        text: 'SELECT $1::int2 a, $2::int4 b, $3::int8 c, $4::numeric d, $5::float8 e, $6::bool f, $7::text g, ' +
              '$8::bytea h, $9::timestamptz i, $10::date j, $11::uuid k, $12::jsonb l',
        values,
        rowMode: 'array'
      })).rows[0]
      expectEqual(row.slice(0, 7), values.slice(0, 7), 'int2..text')
      expect(Buffer.isBuffer(row[7]) && row[7].equals(values[7]), `bytea: ${row[7]}`)
      expectEqual(row[8].toISOString(), '2024-02-29T23:59:58.123Z', 'timestamptz')
      // pg-types 4 leaves a date as its text; older versions parse it into a local Date.
      const date = row[9] instanceof Date ? [row[9].getFullYear(), row[9].getMonth() + 1, row[9].getDate()].join('-') : row[9]
      expect(date === '1999-12-31', `date: ${row[9]}`)
      expectEqual(row[10], values[10], 'uuid')
      expectEqual(row[11], { a: [1, 2.5, null, true], ü: '✓' }, 'jsonb')
    })
  },

  async prepared_reuse () {
    await withClient({}, async client => {
      for (let i = 1; i <= 20; i++) {
        const result = await client.query({ name: 'compat-user-by-id', text: 'SELECT id, name FROM users WHERE id = $1', values: [1000000 + i] })
        expectEqual(result.rows, [{ id: String(1000000 + i), name: `user ${i}` }], `execution ${i}`)
      }
    })
  },

  async cursor () {
    await withClient({}, async client => {
      await client.query('BEGIN')
      const cursor = client.query(new Cursor('SELECT id, name FROM users WHERE country = $1', ['jp']))
      const seen = []
      for (let batch = 0; batch < 50; batch++) {
        const rows = await cursor.read(7)
        if (rows.length === 0) break
        expect(rows.length <= 7, 'at most 7 rows per read')
        seen.push(...rows.filter(r => SEEDED.has(r.id)))
      }
      await cursor.close()
      await client.query('COMMIT')
      expectEqual(seen.length, 20, 'seeded users with country jp')
    })
  },

  async pool () {
    const pool = new pg.Pool({ ...PARAMS, max: 3, connectionTimeoutMillis: 10000, idleTimeoutMillis: 1000 })
    pool.on('error', () => {})
    try {
      const names = await Promise.all(Array.from({ length: 9 }, (_, i) =>
        pool.query('SELECT name FROM users WHERE id = $1', [1000001 + i]).then(r => r.rows[0].name)))
      expectEqual(names, Array.from({ length: 9 }, (_, i) => `user ${i + 1}`), 'names')
      const client = await pool.connect()
      try {
        await client.query('BEGIN')
        await client.query('INSERT INTO users (id, name) VALUES ($1, $2)', [BASE + 20, 'pooled'])
        await client.query('COMMIT')
      } finally {
        client.release()
      }
      expectEqual((await pool.query('SELECT name FROM users WHERE id = $1', [BASE + 20])).rows, [{ name: 'pooled' }], 'pooled insert')
    } finally {
      await Promise.race([pool.end(), new Promise(resolve => setTimeout(resolve, 2000))])
    }
  },

  async statement_timeout () {
    await withClient({}, async client => {
      await client.query("SET statement_timeout = '500ms'")
      let error = null
      try {
        await client.query('SELECT pg_sleep(5) FROM users WHERE id = $1', [1000001])
      } catch (caught) {
        error = caught
      }
      expect(error !== null, 'pg_sleep(5) was not cancelled')
      expectEqual(error.code, '57014', `SQLSTATE (${error.message})`)
      await client.query('RESET statement_timeout')
      expectEqual((await client.query('SELECT name FROM users WHERE id = 1000001')).rows, [{ name: 'user 1' }], 'session works after the timeout')
    })
  },

  async startup_statement_timeout () {
    // pg's statement_timeout option is a startup parameter.
    await withClient({ statement_timeout: 500 }, async client => {
      let error = null
      try {
        await client.query('SELECT pg_sleep(5) FROM users WHERE id = 1000001')
      } catch (caught) {
        error = caught
      }
      expect(error !== null, 'pg_sleep(5) was not cancelled')
      expectEqual(error.code, '57014', `SQLSTATE (${error.message})`)
      expectEqual((await client.query('SELECT 1 AS one')).rows, [{ one: 1 }], 'session works after the timeout')
    })
  },

  async set_application_name () {
    await withClient({ application_name: 'compat-node-startup' }, async client => {
      expectEqual((await client.query('SHOW application_name')).rows[0].application_name, 'compat-node-startup', 'startup parameter')
      await client.query("SET application_name = 'compat-node'")
      for (const key of [1000001, 1000002, 1000003, 1000004]) {
        const row = (await client.query(`SELECT current_setting('application_name') AS a FROM users WHERE id = ${key}`)).rows[0]
        expectEqual(row.a, 'compat-node', `setting seen by the shard of ${key}`)
      }
    })
  },

  async set_search_path () {
    // The startup option -c search_path=..., then SET.
    await withClient({ options: '-c search_path=pg_catalog,public' }, async client => {
      expectEqual((await client.query('SELECT current_schema() AS s')).rows[0].s, 'pg_catalog', 'options at startup')
      await client.query('SET search_path = pg_catalog')
      let error = null
      try {
        await client.query('SELECT name FROM users WHERE id = 1000001')
      } catch (caught) {
        error = caught
      }
      expect(error !== null, 'users found without public on the search_path')
      expectEqual(error.code, '42P01', `SQLSTATE (${error.message})`)
      await client.query('SET search_path = public')
      expectEqual((await client.query('SELECT name FROM users WHERE id = 1000001')).rows, [{ name: 'user 1' }], 'after SET search_path = public')
    })
  }
}

async function main () {
  await run('cleanup_start', cleanup)
  for (const [name, check] of Object.entries(checks)) await run(name, check)
  await run('cleanup_end', cleanup)
  console.log(`${passed} passed, ${failed} failed`)
  process.exit(failed === 0 ? 0 : 1)
}

main()
