// Load generator: N Yjs clients (yjs + y-protocols, raw ws) against TyneBase (y-websocket
// format) or Hocuspocus (the same messages prefixed with the document name, after an auth
// message). Controlled over stdin/stdout (JSON lines) by run.py.
//
// Cheap enough that the figure measures the server, not this process:
// - most clients are light writers: their Y.Doc holds only their own inserts (still valid Yjs
//   updates, which the server merges), and they never apply what they receive: they find the
//   tokens `|client.seq@send-time|` in the received bytes (ASCII inside the update's string);
// - one verifier per document (`spec.full`) is a full client: it applies every update, so its
//   text is the document, checked for every token and against the database by run.py.
// Every client writes. Edits follow an absolute schedule (no setInterval drift); the share of
// the offered edits actually sent and this process's event-loop delay are reported.
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import path from 'node:path'
import * as readline from 'node:readline'
import fs from 'node:fs'

const here = path.dirname(fileURLToPath(import.meta.url))
const require = createRequire(path.join(here, '../../tests/collab/node/package.json'))
const Y = require('yjs')
const syncProtocol = require('y-protocols/sync')
const encoding = require('lib0/encoding')
const decoding = require('lib0/decoding')
const WebSocket = require('ws')

const config = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'))
const hocus = config.mode === 'hocuspocus'
const emit = (event) => process.stdout.write(JSON.stringify(event) + '\n')
const now = () => performance.timeOrigin + performance.now()
const TOKEN = /\|(\d+\.\d+)@(\d+\.\d+)\|/g
const PIPE = 124 // '|'

const latencies = []
let measuring = false
const clients = []
const loopDelay = monitorEventLoopDelay({ resolution: 5 })

const frame = (room, write) => {
  const encoder = encoding.createEncoder()
  if (hocus) encoding.writeVarString(encoder, room)
  write(encoder)
  return encoding.toUint8Array(encoder)
}

// Tokens in a received message: the first sighting of each counts (and gives a latency).
const spot = (client, data, t) => {
  if (data.indexOf(PIPE) < 0) return
  for (const m of data.toString('latin1').matchAll(TOKEN)) {
    if (client.seen.has(m[1])) continue
    client.seen.add(m[1])
    if (measuring) latencies.push(t - Number(m[2]))
  }
}

const openClient = (index, spec) => new Promise((resolve) => {
  const doc = new Y.Doc()
  const text = doc.getText('markdown')
  const url = hocus ? config.url : `${config.url}/${spec.room}?ticket=${spec.ticket}`
  const ws = new WebSocket(url, { perMessageDeflate: false })
  const client = {
    index, doc, text, ws, room: spec.room, full: Boolean(spec.full), synced: false,
    sent: 0, seq: 0, seen: new Set()
  }
  const send = (bytes) => { if (ws.readyState === WebSocket.OPEN) ws.send(bytes) }
  doc.on('update', (update, origin) => {
    if (origin === 'remote') return
    send(frame(client.room, (e) => { encoding.writeVarUint(e, 0); syncProtocol.writeUpdate(e, update) }))
  })
  ws.on('open', () => {
    if (hocus) {
      send(frame(client.room, (e) => { encoding.writeVarUint(e, 2); encoding.writeVarUint(e, 0); encoding.writeVarString(e, '') }))
    }
    send(frame(client.room, (e) => { encoding.writeVarUint(e, 0); syncProtocol.writeSyncStep1(e, doc) }))
  })
  ws.on('message', (data) => {
    const t = now()
    const decoder = decoding.createDecoder(data)
    if (hocus) decoding.readVarString(decoder)
    const type = decoding.readVarUint(decoder)
    if (type !== 0 && type !== 4) return
    const subtype = decoding.readVarUint(decoder)
    if (subtype === 0) {
      const payload = decoding.readVarUint8Array(decoder)
      send(frame(client.room, (e) => {
        encoding.writeVarUint(e, hocus ? 4 : 0)
        encoding.writeVarUint(e, 1)
        encoding.writeVarUint8Array(e, Y.encodeStateAsUpdate(doc, payload))
      }))
      return
    }
    if (client.synced) spot(client, data, t)
    if (client.full) Y.applyUpdate(doc, decoding.readVarUint8Array(decoder), 'remote')
    if (subtype === 1 && !client.synced) { client.synced = true; resolve(client) }
  })
  ws.on('close', (code) => { client.closed = code; if (!client.synced) resolve(client) })
  ws.on('error', () => {})
  clients.push(client)
})

const run = async () => {
  const specs = config.clients
  for (let i = 0; i < specs.length; i += 25) {
    await Promise.all(specs.slice(i, i + 25).map((spec, j) => openClient(i + j, spec)))
  }
  const failed = clients.filter((c) => !c.synced).length
  emit({ event: 'connected', clients: clients.length, failed })
}

const edit = (client) => {
  client.seq += 1
  client.sent += 1
  const token = `|${client.index}.${client.seq}@${now().toFixed(3)}|`
  client.seen.add(`${client.index}.${client.seq}`)
  client.text.insert(client.text.length, token)
}

const go = ({ seconds, rate }) => {
  measuring = true
  loopDelay.enable()
  const period = 1000 / rate
  const start = performance.now()
  const end = start + seconds * 1000
  const offered = clients.length * Math.round(seconds * rate)
  // Client i's k-th edit is due at start + offset_i + k * period; late timers do not shift
  // the later ones, and edits due after the window are not sent (they count as not sent).
  for (const client of clients) {
    const offset = Math.random() * period
    let k = 0
    const tick = () => {
      if (performance.now() >= end) return
      edit(client)
      k += 1
      const due = start + offset + k * period
      if (due < end) client.timer = setTimeout(tick, Math.max(0, due - performance.now()))
    }
    client.timer = setTimeout(tick, offset)
  }
  setTimeout(() => {
    clients.forEach((c) => clearTimeout(c.timer))
    loopDelay.disable()
    emit({
      event: 'sent',
      edits: clients.reduce((n, c) => n + c.sent, 0),
      offered,
      loop_delay_p99_ms: loopDelay.percentile(99) / 1e6,
      loop_delay_max_ms: loopDelay.max / 1e6
    })
  }, seconds * 1000 + 50)
}

const verify = () => {
  // Every client must have seen every token sent to its document (its own included); the
  // verifiers' texts must hold them all.
  const expected = new Map()
  for (const c of clients) expected.set(c.room, (expected.get(c.room) || 0) + c.seq)
  let lost = 0
  let lostInText = 0
  for (const c of clients) {
    lost += Math.max(0, expected.get(c.room) - c.seen.size)
    if (c.full) {
      const have = (c.text.toString().match(/\|\d+\.\d+@/g) || []).length
      lostInText += Math.max(0, expected.get(c.room) - have)
    }
  }
  latencies.sort((a, b) => a - b)
  emit({
    event: 'result',
    clients_checked: clients.length,
    verifiers: clients.filter((c) => c.full).length,
    lost_updates: lost + lostInText,
    latencies,
    texts: Object.fromEntries(clients.filter((c) => c.full).map((c) => [c.room, c.text.toString()]))
  })
}

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const command = JSON.parse(line)
  if (command.cmd === 'go') go(command)
  else if (command.cmd === 'verify') verify()
  else if (command.cmd === 'exit') { clients.forEach((c) => c.ws.close()); setTimeout(() => process.exit(0), 200) }
})
run()
