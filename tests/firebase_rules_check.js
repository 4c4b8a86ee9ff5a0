// firebase_rules_check.js - replays the library's real Firebase writes (the receiver's record of
// them, made by tests/firebase_capture.c) against a rules file with targaryen, a simulator of the
// Realtime Database rules language, then tries what an attacker or a buggy client would do.
//   node tests/firebase_rules_check.js RULES RECORD
// Prints one line per case and "N passed, M failed"; exits non-zero when a case went the wrong way.
'use strict';
const fs = require('fs');
const path = require('path');
const targaryen = require(path.join(__dirname, 'node_modules', 'targaryen'));

const [rulesFile, recordFile] = process.argv.slice(2);
const rules = JSON.parse(fs.readFileSync(rulesFile, 'utf8'));
const writes = fs.readFileSync(recordFile, 'utf8').split('\n').filter(Boolean).map(JSON.parse)
  .filter(r => r.kind === 'firebase');

let passed = 0, failed = 0;
function expect(what, result, allowed) {
  if (result.allowed === allowed) { passed++; console.log(`ok   - ${what}: ${allowed ? 'allowed' : 'denied'}`); return; }
  failed++;
  console.log(`FAIL - ${what}: ${result.allowed ? 'allowed' : 'denied'}, want ${allowed ? 'allowed' : 'denied'}`);
  console.log(result.info.split('\n').map(l => '       ' + l).join('\n'));
}
const NOW = 1764600000000;
const empty = () => targaryen.database(rules, null, NOW).with({ debug: true });
const clone = v => JSON.parse(JSON.stringify(v));
const dbPath = p => p.replace(/^\//, '').replace(/\.json$/, '');
// A record's shape is named by the counter its capture run set to 1 (firebase_capture.c).
const shapeOf = w => {
  const c = w.body.counters || {};
  const s = Object.keys(c).filter(k => k.startsWith('shape_') && c[k] === 1);
  return (s.length ? s.join('+') : 'counters_zero') + (w.body.dropped_reports ? '+dropped_reports' : '');
};

if (writes.length < 8) { console.log(`FAIL - the record holds ${writes.length} writes, want at least 8`); failed++; }
for (const w of writes) {
  if (w.method !== 'PUT' || !/^\/usage\/[-0-9A-Za-z_]{20}\.json$/.test(w.path) || w.query !== 'print=silent') {
    failed++; console.log(`FAIL - unexpected request ${w.method} ${w.path}?${w.query}`);
  }
}

// 1. Every write the library made, in the order it made them, into one database: each first try
//    is stored; a repeat of a stored record (the retry after a lost answer) is refused, which the
//    library counts as delivered (tests/test_firebase.c).
let db = empty();
const seen = new Set();
let clock = NOW;
for (const w of writes) {
  const p = dbPath(w.path);
  const now = ++clock;
  const r = db.write(p, w.body, { now });
  if (seen.has(p)) expect(`retry of a stored record (${shapeOf(w)})`, r, false);
  else {
    expect(`library write, first try (${shapeOf(w)})`, r, true);
    if (r.allowed) {
      const stored = r.newDatabase.snapshot(p).val();
      if (stored.server_time !== now) { failed++; console.log(`FAIL - server_time stored as ${stored.server_time}, want the server's clock`); }
      else passed++;
    }
  }
  if (r.allowed) db = r.newDatabase;
  seen.add(p);
}
// 2. Each write alone into an empty database: a retry whose first try never got stored passes.
for (const w of writes) expect(`library write alone (${shapeOf(w)})`, empty().write(dbPath(w.path), w.body), true);

// 3. What must be refused, made from a real record.
const sample = writes.find(w => w.body.counters && w.body.counters.shape_all_types === 1) || writes[0];
const id = dbPath(sample.path).split('/')[1];
const p = `usage/${id}`;
const body = sample.body;
const fresh = 'usage/-ZZZZZZZZZZZZZZZZZZZ';
const variant = (what, f, allowed) => { const b = clone(body); f(b); expect(what, empty().write(fresh, b), allowed); };

expect('read /', db.read('/'), false);
expect('read /usage', db.read('usage'), false);
expect('read one record', db.read(p), false);
expect('read one field', db.read(`${p}/install_id`), false);
expect('delete a record', db.write(p, null), false);
expect('delete everything', db.write('usage', null), false);
expect('overwrite a record', db.write(p, Object.assign(clone(body), { version: '9.9.9' })), false);
expect('overwrite the whole collection', db.write('usage', { [id]: body }), false);
expect('update one field of a record (PATCH)', db.update(p, { version: '9.9.9' }), false);
expect('add a field to a stored record (PATCH)', db.update(p, { dropped_reports: 5 }), false);
expect('write at the root', empty().write('/', { usage: {} }), false);
expect('write outside /usage', empty().write('other/x', body), false);
expect('a key that is not a push id', empty().write('usage/not-a-push-id', body), false);
expect('a key of 21 characters', empty().write('usage/-ZZZZZZZZZZZZZZZZZZZZ', body), false);
expect('write a child below a record', empty().write(`${fresh}/metrics/x`, 1), false);

variant('without install_id (derived)', b => { delete b.install_id; }, true);
variant('install_id null (derived)', b => { b.install_id = null; }, true);
variant('without counters (derived)', b => { delete b.counters; }, true);
variant('empty counters (derived)', b => { b.counters = {}; }, true);
variant('dropped_reports 3 (derived)', b => { b.dropped_reports = 3; }, true);
variant('a client-chosen server_time', b => { b.server_time = 1700000000000; }, false);
variant('server_time a string', b => { b.server_time = 'now'; }, false);
variant('without server_time', b => { delete b.server_time; }, false);
variant('an unknown top-level field', b => { b.ip = '203.0.113.7'; }, false);
variant('an unknown nested object', b => { b.extra = { a: 1 }; }, false);
variant('without app', b => { delete b.app; }, false);
variant('without metrics', b => { delete b.metrics; }, false);
variant('metrics a string', b => { b.metrics = 'x'; }, false);
variant('counters a string', b => { b.counters = 'x'; }, false);
variant('app a number', b => { b.app = 7; }, false);
variant('app of 65 characters', b => { b.app = 'a'.repeat(65); }, false);
variant('app with a slash', b => { b.app = 'a/b'; }, false);
variant('version of 129 characters', b => { b.version = 'v'.repeat(129); }, false);
variant('version empty', b => { b.version = ''; }, false);
variant('library not a version', b => { b.library = 'evil'; }, false);
variant('install_id not hex', b => { b.install_id = 'X'.repeat(32); }, false);
variant('install_id a number', b => { b.install_id = 12; }, false);
variant('timestamp not RFC 3339', b => { b.timestamp = 'yesterday'; }, false);
variant('timestamp a number', b => { b.timestamp = 1700000000000; }, false);
variant('dropped_reports 0', b => { b.dropped_reports = 0; }, false);
variant('dropped_reports a string', b => { b.dropped_reports = '5'; }, false);
variant('a metric string of 1025 characters', b => { b.metrics.output_format = 'x'.repeat(1025); }, false);
variant('a metric string of 1024 characters', b => { b.metrics.output_format = 'x'.repeat(1024); }, true);
variant('a metric that is an object', b => { b.metrics.output_format = { a: 1 }; }, false);
variant('a metric id of 64 characters', b => { b.metrics['m'.repeat(64)] = 1; }, false);
variant('a metric id of 63 characters', b => { b.metrics['m'.repeat(63)] = 1; }, true);
variant('first_run a string', b => { b.metrics.first_run = 'yes'; }, false);
variant('os of 33 characters', b => { b.metrics.os = 'o'.repeat(33); }, false);
variant('os_version of 201 characters', b => { b.metrics.os_version = 'o'.repeat(201); }, false);
variant('arch a number', b => { b.metrics.arch = 64; }, false);
variant('a counter that is a string', b => { b.counters.files_processed = '3'; }, false);
variant('a counter that is an object', b => { b.counters.files_processed = { n: 3 }; }, false);
variant('a counter name of 64 characters', b => { b.counters['c'.repeat(64)] = 1; }, false);

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
