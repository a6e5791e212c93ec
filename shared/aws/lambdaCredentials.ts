/**
 * Stands in for `@aws-sdk/credential-provider-node` in the Lambda bundles only (scripts/build.ts and
 * serverless.yml alias it): Lambda always hands a function its role's credentials in the environment,
 * so the SSO, INI, process, web-identity and IMDS providers (and the STS/SSO clients they pull in,
 * ~90 KB minified) are dead weight there. Local processes and the worker keep the SDK's full chain.
 */
import { fromEnv } from '@aws-sdk/credential-provider-env';

export const defaultProvider = (_init?: unknown) => fromEnv();
