import type { Duplex } from 'node:stream';

/**
 * Answers a request Node's HTTP parser refused (bad request line, headers
 * too large, a timeout) the way every other error is answered: a status
 * and `{"message"}`. Node's default answer has no body. Nothing is written
 * once an answer to the connection's current request has started.
 */
export function answerClientError(err: Error & { code?: string }, socket: Duplex): void {
  // Node's own rule for when a reply cannot corrupt the peer's view of the stream.
  const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } | null })._httpMessage;
  if (err.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent === true) {
    socket.destroy();
    return;
  }
  const [status, reason, message] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'Request Header Fields Too Large', 'request headers are too large']
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request Timeout', 'the request was not received in time']
        : [400, 'Bad Request', `malformed HTTP request (${err.code ?? err.message})`];
  const body = JSON.stringify({ message }) + '\n';
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
