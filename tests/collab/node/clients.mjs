// Yjs browser-stack clients (yjs + y-websocket's WebsocketProvider, unchanged) driven by the
// Python tests over stdin/stdout, one JSON object per line.
//
// Commands: {"cmd": "open", "id", "url", "room", "ticket"}     a client and its provider
//           {"cmd": "ticket", "id", "ticket"}                   a fresh ticket after a refusal
//           {"cmd": "type", "id", "text", "at"?}                 insert (default: at the end)
//           {"cmd": "burst", "id", "count", "prefix", "interval_ms"}  type count edits
//           {"cmd": "text", "id"}  -> {"event": "text", "id", "text"}
//           {"cmd": "close", "id"} / {"cmd": "exit"}
// Events:   synced, connection-close {code}, closed {code, reason}, need-ticket, burst-done
import * as readline from 'node:readline'
import WebSocket from 'ws'
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'

const clients = new Map()
const emit = (event) => process.stdout.write(JSON.stringify(event) + '\n')

const open = ({ id, url, room, ticket }) => {
  const doc = new Y.Doc()
  const text = doc.getText('markdown')
  const provider = new WebsocketProvider(url, room, doc, {
    WebSocketPolyfill: WebSocket,
    params: { ticket },
    maxBackoffTime: 500,
    disableBc: true
  })
  provider.awareness.setLocalStateField('user', { name: id })
  provider.on('sync', (synced) => { if (synced) emit({ event: 'synced', id }) })
  provider.on('connection-close', (event) => {
    emit({ event: 'connection-close', id, code: event ? event.code : null })
  })
  // A final close (4400-4499): the provider stopped; tickets are single use, so ask for one.
  provider.on('closed', ({ code, reason }) => {
    emit({ event: 'closed', id, code, reason })
    if (code === 4401 || code === 4402) emit({ event: 'need-ticket', id })
  })
  clients.set(id, { doc, text, provider })
}

const commands = {
  open,
  ticket: ({ id, ticket }) => {
    const { provider } = clients.get(id)
    provider.params = { ticket }
    provider.connect()
  },
  type: ({ id, text: chars, at }) => {
    const { text } = clients.get(id)
    text.insert(at ?? text.length, chars)
  },
  burst: ({ id, count, prefix, interval_ms: interval }) => {
    const { text } = clients.get(id)
    let i = 0
    const tick = () => {
      if (i >= count) { emit({ event: 'burst-done', id }); return }
      text.insert(text.length, `${prefix}${i} `)
      i += 1
      setTimeout(tick, interval)
    }
    tick()
  },
  text: ({ id }) => emit({ event: 'text', id, text: clients.get(id).text.toString() }),
  close: ({ id }) => {
    const { provider, doc } = clients.get(id)
    provider.destroy()
    doc.destroy()
    clients.delete(id)
    emit({ event: 'closed-by-test', id })
  },
  exit: () => {
    for (const { provider } of clients.values()) provider.destroy()
    process.exit(0)
  }
}

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  if (!line.trim()) return
  const command = JSON.parse(line)
  try {
    commands[command.cmd](command)
  } catch (error) {
    emit({ event: 'error', id: command.id, message: String(error) })
  }
})
emit({ event: 'ready' })
