// Run Geolonia's @geolonia/normalize-japanese-addresses over an input file, for
// bench/address.py (same protocol as address_runner.py).
//
//   node address_runner_geolonia.js API_DIR startup
//   node address_runner_geolonia.js API_DIR run INPUT OUTPUT [--passes N]
//
// API_DIR is the japanese-addresses "api" folder taken from the same wheel as our
// gazetteer, so both engines read identical data.  The module is resolved through
// NODE_PATH (bench/.cache/node/node_modules).
'use strict'
const fs = require('fs')
const path = require('path')
const { normalize, config } = require('@geolonia/normalize-japanese-addresses')

async function main() {
  const [apiDir, mode, input, output, ...flags] = process.argv.slice(2)
  const passesAt = flags.indexOf('--passes')
  config.japaneseAddressesApi = 'file://' + path.resolve(apiDir) + '/ja'
  if (mode === 'startup') {
    await normalize('東京都千代田区千代田1-1')
    console.log(JSON.stringify({ ok: true }))
    return
  }
  const lines = fs.readFileSync(input, 'utf-8').split('\n')
  if (lines.length && lines[lines.length - 1] === '') lines.pop()
  const passes = passesAt >= 0 ? Number(flags[passesAt + 1]) : 1
  const timings = []
  let results = []
  for (let p = 0; p < passes; p++) {
    results = []
    const start = process.hrtime.bigint()
    for (const line of lines) {
      try {
        const r = await normalize(line)
        results.push([r.pref || '', r.city || '', r.town || ''])
      } catch (e) {
        results.push(['', '', ''])
      }
    }
    timings.push(Number(process.hrtime.bigint() - start) / 1e9)
  }
  fs.writeFileSync(output, results.map((r) => r.join('\t')).join('\n') + '\n')
  const rss = process.resourceUsage().maxRSS / 1024
  console.log(JSON.stringify({ n: results.length, timings, peak_rss_mb: rss }))
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
