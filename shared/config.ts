// Owns every environment variable name the project reads or writes (ENV), one export each.

/*
 * Code says `env[ENV.stateTable]`, never the string: a renamed variable is then one edit, and this file is the whole
 * configuration surface. Import it as a namespace, `import * as ENV from '../config.ts'`: esbuild then puts into
 * each function's bundle only the names it reads (an object of them all would cost every bundle about 1 KB).
 * Which environment a call reads (a local stack's, or process.env) is shared/env.ts.
 */

// The service's names: serverless.yml's provider.environment on AWS; startLocalStack() sets the same.
export const serviceName = 'SERVICE_NAME';
export const stage = 'STAGE';
export const stateTable = 'STATE_TABLE';
export const commandsTable = 'COMMANDS_TABLE';
export const completionsQueueUrl = 'COMPLETIONS_QUEUE_URL';
export const deadLetterQueueArn = 'DEAD_LETTER_QUEUE_ARN';
export const workerQueuePrefix = 'WORKER_QUEUE_PREFIX';
/** The artifacts bucket (infra/artifacts.yml): blobs and worker uploads, moved through presigned URLs. */
export const artifactsBucket = 'ARTIFACTS_BUCKET';
/** Days the bucket keeps an object (its lifecycle rule, BBS_ARTIFACT_EXPIRY_DAYS at deploy time); records expire with it. */
export const artifactExpiryDays = 'ARTIFACT_EXPIRY_DAYS';
/** The WebSocket connections and their subscriptions (infra/connections-table.yml, shared/push/). */
export const connectionsTable = 'CONNECTIONS_TABLE';
/** Where PostToConnection goes: the WebSocket API's https://{api}.execute-api.{region}.amazonaws.com/{stage}; unset, no push. */
export const pushEndpoint = 'PUSH_ENDPOINT';
/** `off`: the writing handlers do not push (the stream fan-out alone does); for `npm run bench -- push`. */
export const pushFastPath = 'PUSH_FAST_PATH';
/** The WebSocket URL clients subscribe on (`bbs`, CommandsClient's pushUrl); the local stack sets it. */
export const pushUrl = 'BBS_PUSH_URL';

// The AWS SDK's own: where every process reaches DynamoDB and SQS (the local stack's emulators, or AWS).
export const awsRegion = 'AWS_REGION';
export const awsAccessKeyId = 'AWS_ACCESS_KEY_ID';
export const awsSecretAccessKey = 'AWS_SECRET_ACCESS_KEY';
export const awsSessionToken = 'AWS_SESSION_TOKEN';
export const awsEndpointUrl = 'AWS_ENDPOINT_URL';
export const awsEndpointUrlDynamodb = 'AWS_ENDPOINT_URL_DYNAMODB';
export const awsEndpointUrlSqs = 'AWS_ENDPOINT_URL_SQS';
export const awsEndpointUrlSts = 'AWS_ENDPOINT_URL_STS';
/** S3's endpoint (the local stack's fauxqs); set, requests are path-style, as an emulator needs. */
export const awsEndpointUrlS3 = 'AWS_ENDPOINT_URL_S3';
/** Set by Lambda itself: its presence says the code runs in a Lambda. */
export const awsLambdaFunctionName = 'AWS_LAMBDA_FUNCTION_NAME';

// Powertools for AWS Lambda (docs/operations.md); the Logger reads these itself.
export const powertoolsServiceName = 'POWERTOOLS_SERVICE_NAME';
export const powertoolsMetricsNamespace = 'POWERTOOLS_METRICS_NAMESPACE';
export const powertoolsMetricsDisabled = 'POWERTOOLS_METRICS_DISABLED';
export const powertoolsLogLevel = 'POWERTOOLS_LOG_LEVEL';
/**
 * The role a heartbeat assumes to vend a worker its queue credentials (infra/roles.yml WorkerQueueRole); unset,
 * no credentials are vended and workers use their own environment's.
 */
export const workerCredentialsRoleArn = 'WORKER_CREDENTIALS_ROLE_ARN';
/** The SQS endpoint workers are told to use, when it is not the region's own (the local stack sets it). */
export const workerSqsEndpoint = 'WORKER_SQS_ENDPOINT';

// The bbs CLI and the worker agent (docs/cli.md); `npm start` prints them as export lines.
/** The HTTP API's base URL (`--api-url`). */
export const apiUrl = 'BBS_API_URL';
/** The CLI's token (`--token`): a client token, or admin. */
export const token = 'BBS_TOKEN';
/** `bbs worker`'s own token (`--token`), kept out of `ps`. */
export const workerToken = 'BBS_WORKER_TOKEN';
/** The worker of `bbs run` and `bbs list` (`--worker`). */
export const worker = 'BBS_WORKER';
/** `npm start`'s admin token, printed for another shell. */
export const adminToken = 'BBS_ADMIN_TOKEN';
/** `npm start`'s client token, printed for another shell. */
export const clientToken = 'BBS_CLIENT_TOKEN';

// The benchmarks (bench/).
/** `npm run bench -- coldstart`: other builds to time in the same rounds, `LABEL=DIR[,LABEL=DIR...]`. */
export const coldstartAgainst = 'COLDSTART_AGAINST';
/** `npm run bench -- transfer`: MiB moved each way (default 1024). */
export const transferBenchMib = 'TRANSFER_BENCH_MIB';
/** `npm run bench -- scale`: commands a second arriving at the watchdog (default 116, 10 M a day). */
export const scaleArrivalsPerSecond = 'SCALE_ARRIVALS_PER_SECOND';

// Node and the SDK's notices, quietened in the processes the local stack and the tests start.
export const nodeOptions = 'NODE_OPTIONS';
export const nodeNoWarnings = 'NODE_NO_WARNINGS';
export const awsSdkSuppressNodeDeprecationWarning = 'AWS_SDK_JS_SUPPRESS_NODE_DEPRECATION_WARNING';
export const awsSdkNodeVersionSupportWarningDisabled = 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED';
