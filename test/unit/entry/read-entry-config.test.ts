import { describe, expect, it } from 'vitest';
import { readEntryConfig } from '../../../engine/entry/read-entry-config.ts';

const ROOT = '/srv/baton';

describe('readEntryConfig', () => {
  it('reads the variables the generated Terraform sets for a barrier function (BATON_PIPELINE is the pipeline name)', () => {
    const config = readEntryConfig({ BATON_BARRIER: 'phase4-complete', BATON_PIPELINE: 'nba-props', BATON_PIPELINE_HASH: '0d50b0ad91c6' }, ROOT);
    expect(config).toEqual({
      target: { kind: 'barrier', name: 'phase4-complete' },
      pipelineFile: '/srv/baton/pipeline.yaml',
      pipelineName: 'nba-props',
      deployedPipelineHash: '0d50b0ad91c6',
      oidc: undefined,
      projectId: undefined,
    });
  });

  it('reads a coordinator with the bundled pipeline, OIDC settings and the project', () => {
    const config = readEntryConfig(
      { BATON_COORDINATOR: 'prediction-coordinator', BATON_OIDC_AUDIENCE: 'https://c.run.app', BATON_OIDC_EMAIL: 'inv@p.iam', GOOGLE_CLOUD_PROJECT: 'p' },
      ROOT,
    );
    expect(config).toMatchObject({
      target: { kind: 'coordinator', name: 'prediction-coordinator' },
      pipelineFile: '/srv/baton/pipeline.yaml',
      pipelineName: undefined,
      oidc: { audience: 'https://c.run.app', emails: ['inv@p.iam'] },
      projectId: 'p',
    });
  });

  it('reads a comma-separated list of invoker emails', () => {
    const config = readEntryConfig({ BATON_BARRIER: 'b', BATON_OIDC_AUDIENCE: 'https://b.run.app', BATON_OIDC_EMAIL: 'push@p.iam, tick@p.iam' }, ROOT);
    expect(config.oidc).toEqual({ audience: 'https://b.run.app', emails: ['push@p.iam', 'tick@p.iam'] });
  });

  it('accepts an audience without an email only when BATON_OIDC_ALLOW_ANY_EMAIL=true says so', () => {
    const config = readEntryConfig({ BATON_BARRIER: 'b', BATON_OIDC_AUDIENCE: 'https://b.run.app', BATON_OIDC_ALLOW_ANY_EMAIL: 'true' }, ROOT);
    expect(config.oidc).toEqual({ audience: 'https://b.run.app', emails: undefined });
  });

  it.each([
    ['config/pipeline.yaml', '/srv/baton/config/pipeline.yaml'],
    ['/etc/baton/p.yml', '/etc/baton/p.yml'],
  ])('takes BATON_PIPELINE=%s as a path', (value, file) => {
    expect(readEntryConfig({ BATON_BARRIER: 'b', BATON_PIPELINE: value }, ROOT)).toMatchObject({ pipelineFile: file, pipelineName: undefined });
  });

  it.each([
    ['neither component', {}, /exactly one of BATON_BARRIER and BATON_COORDINATOR \(got neither\)/],
    ['both components', { BATON_BARRIER: 'b', BATON_COORDINATOR: 'c' }, /got both/],
    ['an email without an audience', { BATON_BARRIER: 'b', BATON_OIDC_EMAIL: 'x@y' }, /BATON_OIDC_AUDIENCE is not/],
    // Bug: with an audience and no email, any Google account's token for that audience was accepted.
    ['an audience without an email', { BATON_BARRIER: 'b', BATON_OIDC_AUDIENCE: 'https://b.run.app' }, /BATON_OIDC_EMAIL is not: any Google account/],
    [
      'an unclear allow-any flag',
      { BATON_BARRIER: 'b', BATON_OIDC_AUDIENCE: 'https://b.run.app', BATON_OIDC_ALLOW_ANY_EMAIL: 'yes' },
      /set it to true or false/,
    ],
  ])('refuses %s', (_name, env, error) => {
    expect(() => readEntryConfig(env, ROOT)).toThrow(error);
  });
});
