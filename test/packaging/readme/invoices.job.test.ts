import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { Test } from '@nestjs/testing';
import { ConsulLeaderService, createConsulLeaderServiceStub } from 'nestjs-consul-leader';
import { AppModule } from './app.module.js';
import { InvoicesJob } from './invoices.job.js';
import { InvoicesRepository } from './invoices.repository.js';

test('InvoicesJob sends due invoices on the leader only', async () => {
  const leadership = createConsulLeaderServiceStub(); // starts as follower
  const sent: Array<number | null> = [];
  const moduleRef = await Test.createTestingModule({ imports: [AppModule] })
    .overrideProvider(ConsulLeaderService)
    .useValue(leadership)
    .overrideProvider(InvoicesRepository)
    .useValue({
      sendDue: async (leader: { fencingToken: number | null }) => sent.push(leader.fencingToken),
    })
    .compile();
  const app = await moduleRef.init();
  const job = app.get(InvoicesJob);

  await job.sendDueInvoices(); // skipped: a follower
  leadership.becomeLeader(); // a new term, fencing token 1
  await job.sendDueInvoices(); // runs, sees that term's signal and fencingToken
  leadership.becomeFollower(); // the term's signal aborts
  await job.sendDueInvoices(); // skipped again
  assert.deepEqual(sent, [1]);
  await app.close();
});
