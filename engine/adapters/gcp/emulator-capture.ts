// Data flow: topics → PUT topic + pull subscription on the Pub/Sub emulator (REST) → pull + acknowledge → CapturedMessage per topic.

/** A message captured on a topic: its attributes and decoded body. */
export interface EmulatorMessage {
  readonly topic: string;
  readonly attributes: Readonly<Record<string, string>>;
  readonly data: string;
}

interface PullResponse {
  readonly receivedMessages?: readonly { readonly ackId: string; readonly message: { readonly data?: string; readonly attributes?: Record<string, string> } }[];
}

/**
 * Listens on topics of a Pub/Sub emulator through its REST API, the way a processor under test
 * publishes to it: one pull subscription `<prefix>--<topic>` per topic, created if missing (so
 * re-running is idempotent), drained before use. Emulator only: it sends no credentials.
 */
export class EmulatorCapture {
  private readonly base: string;

  constructor(
    host: string,
    private readonly projectId: string,
    private readonly prefix = 'baton-check',
  ) {
    this.base = `http://${host}/v1/projects/${encodeURIComponent(projectId)}`;
  }

  /** Creates each topic and its capture subscription unless they exist, then drops what they already hold. */
  async listen(topics: readonly string[]): Promise<void> {
    for (const topic of topics) {
      await this.put(`topics/${encodeURIComponent(topic)}`, {});
      await this.put(`subscriptions/${encodeURIComponent(this.subscription(topic))}`, {
        topic: `projects/${this.projectId}/topics/${topic}`,
        ackDeadlineSeconds: 60,
      });
    }
    await this.pullAll(topics);
  }

  /** Pulls and acks everything the capture subscriptions hold now (all topics at once), in topic order. */
  async pullAll(topics: readonly string[]): Promise<EmulatorMessage[]> {
    const perTopic = await Promise.all(topics.map((topic) => this.drain(topic)));
    return perTopic.flat();
  }

  private async drain(topic: string): Promise<EmulatorMessage[]> {
    const captured: EmulatorMessage[] = [];
    const name = encodeURIComponent(this.subscription(topic));
    for (;;) {
      const response = (await this.post(`subscriptions/${name}:pull`, { maxMessages: 100, returnImmediately: true })) as PullResponse;
      const received = response.receivedMessages ?? [];
      if (received.length === 0) return captured;
      for (const r of received) {
        captured.push({ topic, attributes: r.message.attributes ?? {}, data: Buffer.from(r.message.data ?? '', 'base64').toString('utf8') });
      }
      await this.post(`subscriptions/${name}:acknowledge`, { ackIds: received.map((r) => r.ackId) });
    }
  }

  private subscription(topic: string): string {
    return `${this.prefix}--${topic}`.slice(0, 255);
  }

  private async put(path: string, body: object): Promise<void> {
    const response = await fetch(`${this.base}/${path}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    // 409: it exists already, which is what we want.
    if (!response.ok && response.status !== 409) throw new Error(`Pub/Sub emulator: PUT ${path} answered HTTP ${response.status}: ${await response.text()}`);
  }

  private async post(path: string, body: object): Promise<unknown> {
    const response = await fetch(`${this.base}/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (!response.ok) throw new Error(`Pub/Sub emulator: POST ${path} answered HTTP ${response.status}: ${await response.text()}`);
    return response.json();
  }
}
