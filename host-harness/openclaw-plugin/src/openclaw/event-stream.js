// The stream a StreamFn returns: an async iterable of OpenClaw's assistant
// message events plus `result()`, the final message (OpenClaw's
// AssistantMessageEventStreamLike). Events pushed before anyone iterates are
// kept in order; nothing is dropped.

export class AssistantEventStream {
  #queue = [];
  #waiting = [];
  #ended = false;
  #resolveResult;
  #result = new Promise((resolve) => {
    this.#resolveResult = resolve;
  });

  push(event) {
    if (this.#ended) return;
    const waiter = this.#waiting.shift();
    if (waiter) waiter({ value: event, done: false });
    else this.#queue.push(event);
  }

  end(message) {
    if (this.#ended) return;
    this.#ended = true;
    this.#resolveResult(message);
    for (const waiter of this.#waiting.splice(0)) waiter({ value: undefined, done: true });
  }

  result() {
    return this.#result;
  }

  [Symbol.asyncIterator]() {
    return {
      next: () => {
        if (this.#queue.length > 0) return Promise.resolve({ value: this.#queue.shift(), done: false });
        if (this.#ended) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => this.#waiting.push(resolve));
      },
      return: () => Promise.resolve({ value: undefined, done: true }),
    };
  }
}
