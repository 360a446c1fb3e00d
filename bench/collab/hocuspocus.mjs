// The benchmark's peer: Hocuspocus (npm @hocuspocus/server v4), in memory, no extensions.
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import path from 'node:path'

const here = path.dirname(fileURLToPath(import.meta.url))
const require = createRequire(path.join(here, '../../tests/collab/node/package.json'))
const { Server } = await import(require.resolve('@hocuspocus/server'))

const port = Number(process.argv[2] || 1234)
const server = new Server({ port, address: '127.0.0.1', quiet: true, stopOnSignals: true })
await server.listen()
process.stdout.write(JSON.stringify({ event: 'ready', port }) + '\n')
