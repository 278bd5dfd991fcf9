import type { MessageBus } from '../ports/message-bus.ts';

/**
 * The default publisher: Google Pub/Sub (the emulator when `PUBSUB_EMULATOR_HOST` is set), opened
 * on the first publish so that loading the SDK does not load the Pub/Sub client.
 */
export function defaultPublisher(projectId: string | undefined): Pick<MessageBus, 'publish'> {
  let opened: Promise<Pick<MessageBus, 'publish'>> | undefined;
  return {
    publish: async (topic, message) => {
      opened ??= import('../adapters/gcp/pubsub-publisher.ts').then(({ PubSubPublisher }) => new PubSubPublisher({ projectId }));
      return (await opened).publish(topic, message);
    },
  };
}
