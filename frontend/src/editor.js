// TyneBase collaborative editor: CodeMirror 6 bound to the shared Yjs document's one Y.Text
// "markdown" (the collab server projects it to the document's Markdown body).
//
// Tickets for /collab/{id} are single-use, so the provider never reconnects on its own: every
// (re)connection first fetches a fresh ticket, then connects. Text typed while offline stays in
// the local Y.Doc and is merged by the Yjs sync on the next connection.
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import { yCollab } from 'y-codemirror.next'
import { EditorView, basicSetup } from 'codemirror'
import { Compartment, EditorState } from '@codemirror/state'
import { markdown } from '@codemirror/lang-markdown'

const COLOURS = [
  ['#1d4ed8', '#1d4ed833'], ['#b91c1c', '#b91c1c33'], ['#047857', '#04785733'],
  ['#7c3aed', '#7c3aed33'], ['#b45309', '#b4530933'], ['#0e7490', '#0e749033']
]

function colourFor (seed) {
  let h = 0
  for (let i = 0; i < seed.length; i++) h = (h * 31 + seed.charCodeAt(i)) >>> 0
  return COLOURS[h % COLOURS.length]
}

async function fetchTicket (ticketUrl, csrf) {
  const response = await fetch(ticketUrl, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'X-CSRF-Token': csrf, Accept: 'application/json' }
  })
  if (!response.ok) {
    const error = new Error('ticket refused: ' + response.status)
    error.status = response.status
    throw error
  }
  return response.json() // {ticket, url, room, read_only, role}
}

function setStatus (el, text, state) {
  if (!el) return
  el.textContent = text
  el.dataset.state = state
}

export function mountEditor (host) {
  const documentId = host.dataset.documentId
  let readOnly = host.dataset.readonly === 'true'
  const statusEl = document.getElementById(host.dataset.statusId || 'editor-status')
  const csrf = host.dataset.csrf
  const ticketUrl = host.dataset.ticketUrl
  // Replaced by the ticket's `url` (the collab server may run on its own port or host).
  const scheme = window.location.protocol === 'https:' ? 'wss:' : 'ws:'
  const serverUrl = scheme + '//' + window.location.host + '/collab'

  const ydoc = new Y.Doc()
  const ytext = ydoc.getText('markdown')
  const provider = new WebsocketProvider(serverUrl, documentId, ydoc, {
    connect: false,
    disableBc: true,
    params: {}
  })
  const [colour, light] = colourFor(host.dataset.userId || host.dataset.userName || '')
  provider.awareness.setLocalStateField('user', {
    name: host.dataset.userName || 'Anonymous', color: colour, colorLight: light
  })

  let wanted = true
  let retries = 0
  let connecting = false
  async function connect () {
    if (connecting || !wanted) return
    connecting = true
    setStatus(statusEl, 'Connecting…', 'connecting')
    try {
      const ticket = await fetchTicket(ticketUrl, csrf)
      provider.params = { ticket: ticket.ticket }
      if (ticket.url) provider.serverUrl = ticket.url.replace(/\/+$/, '')
      if (ticket.read_only && !readOnly) setReadOnly(true)
      retries = 0
      if (wanted) provider.connect()
    } catch (err) {
      if (err.status === 401 || err.status === 403 || err.status === 404) {
        setStatus(statusEl, 'You cannot open a live session for this document (' + err.status + ')', 'refused')
        wanted = false
      } else {
        retries++
        setStatus(statusEl, 'Offline: retrying…', 'offline')
        setTimeout(connect, Math.min(250 * 2 ** retries, 10000))
      }
    } finally {
      connecting = false
    }
  }
  provider.on('status', ({ status }) => {
    if (status === 'connected') setStatus(statusEl, readOnly ? 'Live (read-only)' : 'Live', 'connected')
  })
  provider.on('sync', (synced) => {
    host.dataset.synced = synced ? 'true' : 'false'
  })
  provider.on('connection-close', (event) => {
    // Stop the provider's own reconnect (it would reuse the spent ticket); reconnect with a new one.
    provider.shouldConnect = false
    if (!wanted) return
    if (event && event.code >= 4400 && event.code < 4500) {
      setStatus(statusEl, 'Disconnected: ' + (event.reason || event.code), 'refused')
      return
    }
    setStatus(statusEl, 'Offline: your changes are kept and will be sent when back', 'offline')
    setTimeout(connect, Math.min(100 * 2 ** retries++, 5000))
  })
  window.addEventListener('online', () => { if (!provider.wsconnected) connect() })

  const editable = new Compartment()
  const editableExtensions = (ro) => [EditorState.readOnly.of(ro), EditorView.editable.of(!ro)]
  function setReadOnly (ro) {
    readOnly = ro
    host.dataset.readonly = ro ? 'true' : 'false'
    view.dispatch({ effects: editable.reconfigure(editableExtensions(ro)) })
  }
  const view = new EditorView({
    parent: host,
    state: EditorState.create({
      doc: ytext.toString(),
      extensions: [
        basicSetup,
        markdown(),
        EditorView.lineWrapping,
        editable.of(editableExtensions(readOnly)),
        EditorView.contentAttributes.of({ 'aria-label': 'Document body (Markdown)' }),
        yCollab(ytext, provider.awareness)
      ]
    })
  })
  connect()
  const api = {
    view,
    ydoc,
    ytext,
    provider,
    text: () => ytext.toString(),
    disconnect () { wanted = false; provider.disconnect() },
    reconnect () { wanted = true; connect() }
  }
  window.tynebaseEditor = api
  return api
}

const host = document.getElementById('editor')
if (host) mountEditor(host)
