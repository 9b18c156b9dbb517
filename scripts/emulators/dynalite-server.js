#!/usr/bin/env node
// Starts dynalite, in memory, the way its own command line (dynalite/cli.js)
// does, but keeps it running when a client goes away in the middle of a
// request. scripts/emulators/start runs it; its output is the emulator's log.
//
//   node dynalite-server.js --host HOST --port PORT
//        [--createTableMs MS] [--updateTableMs MS] [--deleteTableMs MS]
//
// dynalite 4.0.0 gives every request the listener
//
//   req.on('error', function (err) { throw err })      (dynalite/index.js)
//
// and Node's HTTP server makes the request emit an error ("aborted",
// ECONNRESET) when the client closes or resets its connection before the
// request ended, or before the answer was sent. The throw is uncaught and
// the process exits, so one client that leaves early (a load generator
// closing its connections at the end of a phase) leaves every later request
// without a server. Here dynalite's listener is replaced, on each request,
// by one that logs such a client abort in one line and lets the request go
// (its connection is closed already), and still throws any other error, as
// dynalite did: an error that is not the client's leaving stops the
// emulator, with its stack in the log. Nothing in node_modules is changed.
'use strict'

const { parseArgs } = require('node:util')
const dynalite = require('dynalite')

// The error codes of a peer that went away.
const clientAborts = new Set([ 'ECONNRESET', 'ECONNABORTED', 'EPIPE' ])

function number (name, value) {
  if (value === undefined) return undefined
  const n = Number(value)
  if (!Number.isInteger(n) || n < 0) {
    console.error(`dynalite-server: --${name} must be a whole number, not ${JSON.stringify(value)}`)
    process.exit(2)
  }
  return n
}

const { values: args } = parseArgs({
  options: {
    host: { type: 'string' },
    port: { type: 'string' },
    createTableMs: { type: 'string' },
    updateTableMs: { type: 'string' },
    deleteTableMs: { type: 'string' },
  },
  strict: true,
})
if (!args.host || !args.port) {
  console.error('dynalite-server: usage: node dynalite-server.js --host HOST --port PORT [--createTableMs MS] [--updateTableMs MS] [--deleteTableMs MS]')
  process.exit(2)
}
const options = {
  createTableMs: number('createTableMs', args.createTableMs),
  updateTableMs: number('updateTableMs', args.updateTableMs),
  deleteTableMs: number('deleteTableMs', args.deleteTableMs),
}
const port = number('port', args.port)

const server = dynalite(options)

// This listener runs right after dynalite's own request handler, which has
// added its throwing 'error' listener by then (it does so first, before any
// data can arrive).
server.on('request', function (req) {
  if (req.listenerCount('error') !== 1) {
    throw new Error(`dynalite-server: dynalite put ${req.listenerCount('error')} error listeners on a request, not 1: ` +
      'has it changed since 4.0.0? See the top of this file')
  }
  req.removeAllListeners('error')
  // The socket forgets its peer once closed (sometimes before the request
  // is handed over): note it now.
  const from = req.socket.remoteAddress ? `client ${req.socket.remoteAddress}:${req.socket.remotePort}` : 'a client'
  req.on('error', function (err) {
    if (!clientAborts.has(err.code)) throw err
    const target = req.headers['x-amz-target'] || '-'
    console.error(`dynalite-server: ${from} went away during ${req.method} ${req.url} ${target} ` +
      `(${err.code}: ${err.message}); request dropped, still serving`)
  })
})

server.listen(port, args.host, function () {
  const address = server.address()
  console.log(`Dynalite listening at: http://${address.address}:${address.port}`)
})
