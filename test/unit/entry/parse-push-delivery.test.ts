import { describe, expect, it } from 'vitest';
import { parsePushDelivery } from '../../../engine/entry/parse-push-delivery.ts';

const b64 = (text: string): string => Buffer.from(text).toString('base64');

describe('parsePushDelivery', () => {
  it('rebuilds the Baton message: id from baton_id, attributes without it, data decoded from base64', () => {
    const delivery = parsePushDelivery({
      message: {
        data: b64('{"key":"2025-11-28"}'),
        attributes: { baton_id: 'c:a:1', 'ce-id': 'c:a:1', 'ce-type': 't' },
        messageId: '991',
        publishTime: '2025-11-29T12:00:00Z',
      },
      subscription: 'projects/p/subscriptions/gate--work-done',
      deliveryAttempt: 3,
    });
    expect(delivery).toEqual({
      message: { id: 'c:a:1', attributes: { 'ce-id': 'c:a:1', 'ce-type': 't' }, data: '{"key":"2025-11-28"}' },
      subscription: 'gate--work-done',
      deliveryAttempt: 3,
      pubsubMessageId: '991',
      publishTime: '2025-11-29T12:00:00Z',
    });
  });

  it.each([
    ['ce-id when baton_id is absent', { 'ce-id': 'ce-7' }, '991', 'ce-7'],
    ["Pub/Sub's messageId when neither is present", {}, '991', '991'],
  ])('takes the id from %s', (_name, attributes, messageId, id) => {
    expect(parsePushDelivery({ message: { data: b64('x'), attributes, messageId } }).message.id).toBe(id);
  });

  it('accepts a message without data or attributes and without deliveryAttempt', () => {
    const delivery = parsePushDelivery({ message: { messageId: '1' }, subscription: 's' });
    expect(delivery.message).toEqual({ id: '1', attributes: {}, data: '' });
    expect(delivery.deliveryAttempt).toBeUndefined();
  });

  it.each([
    ['a non-object body', 'hello', /push body is not a JSON object/],
    ['no message', { subscription: 's' }, /message is not a JSON object/],
    ['a numeric attribute', { message: { messageId: '1', attributes: { n: 1 } } }, /attributes\.n is not a string/],
    ['non-text data', { message: { messageId: '1', data: 5 } }, /data is not base64 text/],
    ['no id anywhere', { message: { data: b64('x') } }, /has no id/],
  ])('refuses %s as not a Pub/Sub delivery', (_name, body, error) => {
    expect(() => parsePushDelivery(body)).toThrow(error);
  });
});
