// An osls plugin: refuses to package a stage whose derived AWS names would be too long, before CloudFormation does.
/* global module */
'use strict';

/**
 * The names serverless.yml derives from the service and stage, and AWS's longest of each. CloudFormation refuses
 * an over-long name only when it creates that resource, half-way through a deploy; this refuses it when the
 * template is made (`osls package` and `osls deploy` both package first). Each limit is AWS's own.
 */
const LIMITS = {
  function: 64, // Lambda function names
  queue: 80, // SQS queue names (a FIFO queue's .fifo included)
  table: 255, // DynamoDB table names
  topic: 256, // SNS topic names
};

/** Characters of a worker name the API accepts at most (shared/limits.ts, workerNameLength). */
const WORKER_NAME_LENGTH = 40;

/** Which of custom.names is which kind of name. */
function kindOf(key) {
  if (/Table$/.test(key)) return 'table';
  if (/Topic$/.test(key)) return 'topic';
  if (/Queue$|QueuePrefix$/.test(key)) return 'queue';
  return undefined;
}

class NameLengths {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = {
      'before:package:initialize': () => this.check(),
    };
  }

  check() {
    const service = this.serverless.service;
    const stage = this.serverless.getProvider('aws').getStage();
    const names = (service.custom && service.custom.names) || {};
    const tooLong = [];
    for (const key of service.getAllFunctions()) {
      const name = service.getFunction(key).name;
      if (name.length > LIMITS.function)
        tooLong.push(`function ${key}: ${name} (${name.length} > ${LIMITS.function})`);
    }
    for (const [key, name] of Object.entries(names)) {
      const kind = kindOf(key);
      if (kind === undefined || typeof name !== 'string') continue;
      // A worker queue is the prefix and the worker's name: at least one character must fit.
      const length = /Prefix$/.test(key) ? name.length + 1 : name.length;
      if (length > LIMITS[kind])
        tooLong.push(`${kind} custom.names.${key}: ${name} (${length} > ${LIMITS[kind]})`);
    }
    if (tooLong.length > 0) {
      // osls's own error class: it prints the message alone, without a stack.
      const ServerlessError = this.serverless.classes.Error;
      throw new ServerlessError(
        `stage "${stage}" makes names longer than AWS allows; choose a shorter stage (or service) name:\n  ` +
          tooLong.join('\n  '),
        'NAME_TOO_LONG',
      );
    }
    const prefix = names.workerQueuePrefix;
    if (typeof prefix === 'string' && LIMITS.queue - prefix.length < WORKER_NAME_LENGTH)
      this.serverless.cli.log(
        `stage "${stage}": worker names may have at most ${LIMITS.queue - prefix.length} characters ` +
          `(the queue name ${prefix}<name> has at most ${LIMITS.queue}); registration refuses longer ones with 400`,
      );
  }
}

module.exports = NameLengths;
