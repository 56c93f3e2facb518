/**
 * Cuts a text stream into lines as chunks arrive (a chunk may end mid-line). Pure and synchronous: the
 * transport decodes bytes to text (e.g. `stream.setEncoding('utf8')`, which keeps multi-byte characters
 * whole) and feeds the chunks here.
 */
export class AgentLineSplitter {
  #pending = '';

  /** Complete lines in this chunk (without '\n' or '\r\n'), in order. */
  push(chunk: string): string[] {
    const parts = (this.#pending + chunk).split('\n');
    this.#pending = parts.pop() ?? '';
    return parts.map((part) => (part.endsWith('\r') ? part.slice(0, -1) : part));
  }

  /** At end of stream: the unterminated tail (e.g. a line the agent was writing when it died), if any. */
  end(): string | undefined {
    const tail = this.#pending;
    this.#pending = '';
    return tail === '' ? undefined : tail;
  }
}
