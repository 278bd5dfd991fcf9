import type { AlertModel, DeployModel, SubscriptionModel, TopicModel } from './deploy-model.ts';
import { markdownCode, markdownInline, shellQuote } from './escape.ts';
import { renderTemplateChunks } from './render-template.ts';

/**
 * `docs/topics.md`, `docs/barriers.md` and `docs/runbook.md`, from the deploy model: each path with its
 * renderer, so a caller can write one file before rendering the next.
 */
export function referenceDocs(model: DeployModel): (readonly [string, () => Iterable<string>])[] {
  let built: ModelIndex | undefined;
  const index = (): ModelIndex => (built ??= indexModel(model));
  const subscriptionsOf = (topic: string): readonly SubscriptionModel[] => index().subscriptionsOn.get(topic) ?? [];
  return [
    [
      'docs/topics.md',
      () =>
        renderTemplateChunks(
          'topics-md',
          {
            ...model,
            topics: model.topics.map((t) => ({
              ...t,
              externalPublishers: t.externalPublishers ?? '',
              externalConsumers: t.externalConsumers ?? '',
              deadLetterDisabledReason: t.deadLetterDisabledReason ?? '',
              subscriptions: subscriptionsOf(t.name),
            })),
          },
          { subscriptionRow },
        ),
    ],
    [
      'docs/barriers.md',
      () =>
        renderTemplateChunks('barriers-md', {
          ...model,
          barriers: model.barriers.map((b) => ({ ...b, target: b.target ?? '' })),
          coordinators: model.coordinators.map((c) => ({ ...c, publishes: c.publishes ?? '' })),
        }),
    ],
    [
      'docs/runbook.md',
      () =>
        renderTemplateChunks(
          'runbook-md',
          { ...model, project: model.project ?? '', region: model.region ?? '' },
          { alert: (a: AlertModel) => alertSection(a, index()) },
        ),
    ],
  ];
}

/** A subscription's row in its topic's table (topics.md), Markdown-escaped as the template would. */
function subscriptionRow(s: SubscriptionModel): string {
  const { settings } = s;
  const delivery = s.push ? `push as ${s.push.invoker}` : 'pull';
  const deadLetterAfter = s.deadLetter ? `${settings.deadLetterAfterAttempts} attempts` : 'never';
  const retentionDays = Math.round((settings.messageRetentionSeconds / 86_400) * 10) / 10;
  const filterCell = s.filter ? markdownCode(s.filter).replace(/\|/g, '\\|') : '—';
  return `| ${markdownCode(s.name)} | ${markdownInline(s.consumer)} (${s.consumerKind}) | ${delivery} | ${settings.ackDeadlineSeconds} s | ${settings.minBackoffSeconds}–${settings.maxBackoffSeconds} s | ${deadLetterAfter} | ${retentionDays} d | ${filterCell} |\n`;
}

/**
 * The runbook's section for one alert (the template's `{{#eachBlock}}`, in TypeScript because there is
 * one per subscription): its anchor, what it means and what to run, Markdown-escaped as the template would.
 */
function alertSection(alert: AlertModel, index: ModelIndex): string {
  return `<a id="${alert.id}"></a>

### ${markdownInline(alert.displayName)}

${markdownInline(alert.meaning)}

${markdownInline(alert.action)}

\`\`\`sh
${commandsFor(alert, index)}
\`\`\`

`;
}

/** The model's lookups, built once: one per alert or topic would make the docs quadratic in subscriptions. */
interface ModelIndex {
  readonly subscriptionsOn: ReadonlyMap<string, readonly SubscriptionModel[]>;
  readonly subscriptionByName: ReadonlyMap<string, SubscriptionModel>;
  readonly topicByDeadLetter: ReadonlyMap<string, TopicModel>;
}

function indexModel(model: DeployModel): ModelIndex {
  const subscriptionsOn = new Map<string, SubscriptionModel[]>();
  for (const s of model.subscriptions) {
    const list = subscriptionsOn.get(s.topic);
    if (list === undefined) subscriptionsOn.set(s.topic, [s]);
    else list.push(s);
  }
  const topicByDeadLetter = new Map<string, TopicModel>();
  // The first topic wins, as a search in file order would.
  for (const t of model.topics) if (t.deadLetter && !topicByDeadLetter.has(t.deadLetter.name)) topicByDeadLetter.set(t.deadLetter.name, t);
  const subscriptionByName = new Map<string, SubscriptionModel>();
  for (const s of model.subscriptions) if (!subscriptionByName.has(s.name)) subscriptionByName.set(s.name, s);
  return { subscriptionsOn, subscriptionByName, topicByDeadLetter };
}

/** Shell commands an operator runs for an alert (every value shell-quoted). */
function commandsFor(alert: AlertModel, index: ModelIndex): string {
  switch (alert.kind) {
    case 'dlq-holding': {
      const topic = index.topicByDeadLetter.get(alert.subject);
      const hold = topic?.deadLetter?.holdSubscription ?? '';
      return [
        `# see what was dead-lettered (does not ack)`,
        `gcloud pubsub subscriptions pull ${shellQuote(hold)} --project "$PROJECT" --limit 10 --format json`,
        `# after fixing the cause: ack them, and re-publish each message's data and attributes to ${topic?.name ?? ''}`,
        `gcloud pubsub subscriptions pull ${shellQuote(hold)} --project "$PROJECT" --limit 10 --auto-ack --format json`,
      ].join('\n');
    }
    case 'oldest-unacked': {
      const s = index.subscriptionByName.get(alert.subject);
      const lines = [`gcloud pubsub subscriptions describe ${shellQuote(alert.subject)} --project "$PROJECT"`];
      if (s?.push?.target.kind === 'function')
        lines.push(`gcloud functions logs read ${shellQuote(s.push.target.name)} --gen2 --project "$PROJECT" --limit 50`);
      else if (s?.push) lines.push(`gcloud run services get-iam-policy ${shellQuote(s.push.target.name)} --project "$PROJECT" --region "$REGION"`);
      return lines.join('\n');
    }
    case 'deadline-missed':
      return [
        `gcloud logging read ${shellQuote(alert.filter)} --project "$PROJECT" --limit 10 --format json`,
        `npx baton status --backend gcp --project "$PROJECT" --barrier ${shellQuote(alert.subject)}`,
      ].join('\n');
    case 'no-final-output':
      return [
        `# every key across every phase: the earliest key that is not complete, and its earliest open barrier`,
        `npx baton status --backend gcp --project "$PROJECT"`,
        `# then, with KEY set to that key: the members it still waits for, and its deadlines`,
        `npx baton status --backend gcp --project "$PROJECT" --key "$KEY"`,
        `# what Baton refused, retried or dead-lettered meanwhile`,
        `gcloud logging read 'jsonPayload.baton_event:* AND severity>=WARNING' --project "$PROJECT" --freshness 2d --limit 50`,
      ].join('\n');
  }
}
