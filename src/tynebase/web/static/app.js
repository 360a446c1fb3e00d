// TyneBase page behaviour (no inline script anywhere: CSP script-src 'self').
(function () {
  'use strict'
  const body = document.body
  const csrf = body.dataset.csrf || ''
  const base = body.dataset.base || ''

  // Ctrl/Cmd+K: the search dialog.
  const dialog = document.getElementById('search-dialog')
  function openSearch () {
    if (!dialog) return
    if (!dialog.open) dialog.showModal()
    const input = document.getElementById('search-dialog-q')
    if (input) { input.focus(); input.select() }
  }
  document.addEventListener('keydown', function (event) {
    if ((event.ctrlKey || event.metaKey) && (event.key === 'k' || event.key === 'K')) {
      event.preventDefault()
      openSearch()
    }
  })
  document.querySelectorAll('.close-dialog').forEach(function (b) {
    b.addEventListener('click', function () { dialog.close() })
  })

  // Uploads and imports: XHR for upload progress, then the job fragment polls itself (htmx).
  function send (form, progressEl, statusEl, done) {
    const input = form.querySelector('input[type=file]')
    if (!input || !input.files.length) return
    const data = new FormData()
    data.append('file', input.files[0])
    const xhr = new XMLHttpRequest()
    xhr.open('POST', form.dataset.api)
    xhr.setRequestHeader('X-CSRF-Token', csrf)
    xhr.setRequestHeader('Accept', 'application/json')
    xhr.upload.addEventListener('progress', function (e) {
      if (e.lengthComputable) progressEl.value = Math.round(100 * e.loaded / e.total)
    })
    xhr.addEventListener('load', function () {
      let payload = {}
      try { payload = JSON.parse(xhr.responseText) } catch (e) { payload = {} }
      if (xhr.status >= 200 && xhr.status < 300) {
        progressEl.value = 100
        done(payload)
      } else {
        const err = (payload.error && payload.error.message) || ('Failed (' + xhr.status + ')')
        statusEl.textContent = err
        statusEl.dataset.state = 'error'
      }
    })
    xhr.addEventListener('error', function () { statusEl.textContent = 'Network error' })
    statusEl.textContent = 'Uploading…'
    xhr.send(data)
  }
  const upload = document.getElementById('upload-form')
  if (upload) {
    upload.addEventListener('submit', function (event) {
      event.preventDefault()
      const status = document.getElementById('upload-status')
      send(upload, document.getElementById('upload-progress'), status, function (file) {
        status.textContent = 'Uploaded ' + (file.filename || '')
        status.dataset.state = 'done'
        setTimeout(function () { window.location.reload() }, 300)
      })
    })
  }
  const imp = document.getElementById('import-form')
  if (imp) {
    imp.addEventListener('submit', function (event) {
      event.preventDefault()
      const status = document.getElementById('import-status')
      send(imp, document.getElementById('import-progress'), status, function (payload) {
        const jobId = payload.job_id || (payload.job && payload.job.id) || payload.id
        status.textContent = 'Uploaded; importing…'
        const target = document.getElementById('import-job')
        if (jobId && window.htmx) {
          window.htmx.ajax('GET', imp.dataset.jobs + '/' + jobId, { target: target, swap: 'innerHTML' })
        }
      })
    })
  }

  // Chat: POST to the API and read its server-sent events as they stream.
  const chat = document.getElementById('chat-form')
  if (chat) {
    chat.addEventListener('submit', async function (event) {
      event.preventDefault()
      const question = chat.querySelector('textarea, input[name=question]').value
      const answer = document.getElementById('chat-answer')
      const cites = document.getElementById('chat-citations')
      answer.textContent = ''
      cites.textContent = ''
      const status = document.getElementById('chat-status')
      status.textContent = 'Thinking…'
      const response = await fetch(chat.dataset.api, {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf, Accept: 'text/event-stream' },
        body: JSON.stringify({ question: question })
      })
      if (!response.ok || !response.body) {
        let message = 'Failed (' + response.status + ')'
        try { const e = await response.json(); message = e.error.message } catch (e) {}
        status.textContent = message
        return
      }
      const reader = response.body.getReader()
      const decoder = new TextDecoder()
      let buffer = ''
      for (;;) {
        const { value, done } = await reader.read()
        if (done) break
        buffer += decoder.decode(value, { stream: true })
        let cut
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          handleEvent(buffer.slice(0, cut), answer, cites)
          buffer = buffer.slice(cut + 2)
        }
      }
      status.textContent = 'Done'
      status.dataset.state = 'done'
    })
  }
  function handleEvent (raw, answer, cites) {
    let name = 'message'
    const data = []
    raw.split('\n').forEach(function (line) {
      if (line.startsWith('event:')) name = line.slice(6).trim()
      else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''))
    })
    let payload = data.join('\n')
    try { payload = JSON.parse(payload) } catch (e) { /* plain text */ }
    if (name === 'token' || name === 'delta' || name === 'message') {
      const text = typeof payload === 'string' ? payload : (payload.text || payload.delta || '')
      answer.appendChild(document.createTextNode(text))
    } else if (name === 'citation' || name === 'citations') {
      const list = Array.isArray(payload) ? payload : (payload.citations || [payload])
      list.forEach(function (c) { addCitation(cites, c) })
    } else if (name === 'done' || name === 'answer') {
      if (payload && payload.citations) payload.citations.forEach(function (c) { addCitation(cites, c) })
      if (payload && typeof payload.answer === 'string' && !answer.textContent) answer.textContent = payload.answer
    } else if (name === 'error') {
      answer.appendChild(document.createTextNode('\n' + ((payload && payload.message) || 'Error')))
    }
  }
  function addCitation (list, c) {
    if (!c || !c.document_id) return
    const li = document.createElement('li')
    const a = document.createElement('a')
    const version = c.version || c.version_number
    a.href = base + '/d/' + encodeURIComponent(c.document_id) + (version ? '/versions/' + encodeURIComponent(version) : '')
    a.textContent = '[' + (c.n || c.number || c.index || list.children.length + 1) + '] ' + (c.title || c.document_id)
    a.className = 'citation'
    li.appendChild(a)
    list.appendChild(li)
  }
})()

;// AI generation: start the job through the API, then let the job fragment poll (htmx).
(function () {
  'use strict'
  const gen = document.getElementById('generate-form')
  if (gen) {
    gen.addEventListener('submit', function (event) {
      event.preventDefault()
      const status = document.getElementById('generate-status')
      const payload = { prompt: gen.querySelector('[name=prompt]').value, kind: gen.querySelector('[name=kind]').value }
      status.textContent = 'Starting…'
      fetch(gen.dataset.api, {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': document.body.dataset.csrf, Accept: 'application/json' },
        body: JSON.stringify(payload)
      }).then(function (r) { return r.json().then(function (j) { return [r.ok, j] }) })
        .then(function (pair) {
          if (!pair[0]) { status.textContent = (pair[1].error && pair[1].error.message) || 'Failed'; return }
          const jobId = pair[1].job_id || (pair[1].job && pair[1].job.id) || pair[1].id
          status.textContent = 'Generating…'
          if (jobId && window.htmx) window.htmx.ajax('GET', gen.dataset.jobs + '/' + jobId, { target: '#generate-job', swap: 'innerHTML' })
        })
    })
  }
})()
