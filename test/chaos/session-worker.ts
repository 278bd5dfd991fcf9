// Child process for runChaos's SIGKILL sessions: runs one session and reports every event as a JSON line until killed.
import { planChaos, runSession, type ChaosOptions, type WorkerLine } from './run-chaos.ts';

const { options, session, clockAt } = JSON.parse(process.argv[2] ?? '{}') as { options: ChaosOptions; session: number; clockAt: number };
const say = (line: WorkerLine): void => void process.stdout.write(`${JSON.stringify(line)}\n`);
const outcome = await runSession(planChaos(options), session, clockAt, undefined, {
  published: (topic, message) => say({ t: 'published', topic, message }),
  fired: (id) => say({ t: 'fired', id }),
  duplicate: () => say({ t: 'duplicate' }),
  clock: (now) => say({ t: 'clock', now }),
});
say({ t: 'end', outcome });
