import type { BusSubscriber, InvalidationBus } from "../bus.ts";

/** A bus within one process that records what it carries and can drop, restore or inject messages. */
export class LocalBus implements InvalidationBus {
  readonly subscribers = new Set<BusSubscriber>();
  readonly sent: Uint8Array[] = [];
  connected = true;

  publish(message: Uint8Array): Promise<void> {
    if (!this.connected) return Promise.reject(new Error("bus down"));
    this.sent.push(message);
    for (const subscriber of this.subscribers) subscriber.message(message);
    return Promise.resolve();
  }

  subscribe(subscriber: BusSubscriber): () => void {
    this.subscribers.add(subscriber);
    return () => this.subscribers.delete(subscriber);
  }

  drop(): void {
    this.connected = false;
    for (const subscriber of this.subscribers) subscriber.down();
  }

  restore(): void {
    this.connected = true;
    for (const subscriber of this.subscribers) subscriber.up();
  }

  inject(text: string | Uint8Array): void {
    const bytes = typeof text === "string" ? new TextEncoder().encode(text) : text;
    for (const subscriber of this.subscribers) subscriber.message(bytes);
  }
}
