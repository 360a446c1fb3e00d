// Load generator: N Yjs clients (yjs + y-protocols, raw ws) against TyneBase (y-websocket
// format) or Hocuspocus (the same messages prefixed with the document name, after an auth
// message). Each edit inserts a token carrying its send time; every receiver measures the
// fan-out latency from it. Controlled over stdin/stdout (JSON lines) by run.py.
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
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
const TOKEN = /\|(\d+)\.(\d+)@(\d+\.\d+)\|/g

const latencies = []
let measuring = false
const clients = []

const frame = (room, write) => {
  const encoder = encoding.createEncoder()
  if (hocus) encoding.writeVarString(encoder, room)
  write(encoder)
  return encoding.toUint8Array(encoder)
}

const openClient = (index, spec) => new Promise((resolve) => {
  const doc = new Y.Doc()
  const text = doc.getText('markdown')
  const url = hocus ? config.url : `${config.url}/${spec.room}?ticket=${spec.ticket}`
  const ws = new WebSocket(url, { perMessageDeflate: false })
  ws.binaryType = 'arraybuffer'
  const client = { index, doc, text, ws, room: spec.room, synced: false, sent: 0, seq: 0 }
  const send = (bytes) => { if (ws.readyState === WebSocket.OPEN) ws.send(bytes) }
  doc.on('update', (update, origin) => {
    if (origin === 'remote') return
    send(frame(client.room, (e) => { encoding.writeVarUint(e, 0); syncProtocol.writeUpdate(e, update) }))
  })
  text.observe((event) => {
    if (!measuring || event.transaction.origin !== 'remote') return
    const t = now()
    for (const op of event.delta) {
      if (typeof op.insert !== 'string') continue
      for (const m of op.insert.matchAll(TOKEN)) latencies.push(t - Number(m[3]))
    }
  })
  ws.on('open', () => {
    if (hocus) {
      send(frame(client.room, (e) => { encoding.writeVarUint(e, 2); encoding.writeVarUint(e, 0); encoding.writeVarString(e, '') }))
    }
    send(frame(client.room, (e) => { encoding.writeVarUint(e, 0); syncProtocol.writeSyncStep1(e, doc) }))
  })
  ws.on('message', (data) => {
    const decoder = decoding.createDecoder(new Uint8Array(data))
    if (hocus) decoding.readVarString(decoder)
    const type = decoding.readVarUint(decoder)
    if (type === 0 || type === 4) {
      const subtype = decoding.readVarUint(decoder)
      const payload = decoding.readVarUint8Array(decoder)
      if (subtype === 0) {
        send(frame(client.room, (e) => {
          encoding.writeVarUint(e, hocus ? 4 : 0)
          encoding.writeVarUint(e, 1)
          encoding.writeVarUint8Array(e, Y.encodeStateAsUpdate(doc, payload))
        }))
      } else {
        Y.applyUpdate(doc, payload, 'remote')
        if (subtype === 1 && !client.synced) { client.synced = true; resolve(client) }
      }
    }
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
  client.text.insert(client.text.length, `|${client.index}.${client.seq}@${now().toFixed(3)}|`)
}

const go = ({ seconds, rate }) => {
  measuring = true
  const period = 1000 / rate
  const timers = clients.map((client) => {
    const start = setTimeout(() => {
      edit(client)
      client.timer = setInterval(() => edit(client), period)
    }, Math.random() * period)
    return start
  })
  setTimeout(() => {
    timers.forEach(clearTimeout)
    clients.forEach((c) => clearInterval(c.timer))
    emit({ event: 'sent', edits: clients.reduce((n, c) => n + c.sent, 0) })
  }, seconds * 1000)
}

const verify = () => {
  // Every client must hold every token sent to its document.
  const expected = new Map()
  for (const c of clients) expected.set(c.room, (expected.get(c.room) || 0) + c.seq)
  let lost = 0
  let checked = 0
  for (const c of clients) {
    const have = (c.text.toString().match(/\|\d+\.\d+@/g) || []).length
    lost += Math.max(0, expected.get(c.room) - have)
    checked += 1
  }
  latencies.sort((a, b) => a - b)
  if (config.raw) {
    emit({ event: 'result', clients_checked: checked, lost_updates: lost, latencies,
      texts: Object.fromEntries([...expected.keys()].map((room) => [room, clients.find((c) => c.room === room).text.toString()])) })
    return
  }
  const pick = (q) => latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] : null
  emit({
    event: 'result',
    clients_checked: checked,
    lost_updates: lost,
    deliveries: latencies.length,
    p50_ms: pick(0.5),
    p95_ms: pick(0.95),
    p99_ms: pick(0.99),
    max_ms: latencies.length ? latencies[latencies.length - 1] : null,
    texts: Object.fromEntries([...expected.keys()].map((room) => [room, clients.find((c) => c.room === room).text.toString()]))
  })
}

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const command = JSON.parse(line)
  if (command.cmd === 'go') go(command)
  else if (command.cmd === 'verify') verify()
  else if (command.cmd === 'exit') { clients.forEach((c) => c.ws.close()); setTimeout(() => process.exit(0), 200) }
})
run()
