/** What the scheduler reports while it works; the CLI renders these (progress bars or plain lines). */
import type { StatusCounts } from '../store/tasks.ts';

export type SchedulerEvent =
  | { readonly type: 'device-start'; readonly deviceId: string; readonly counts: StatusCounts }
  | {
      readonly type: 'batch-start';
      readonly deviceId: string;
      readonly batchIndex: number;
      readonly cases: number;
    }
  | {
      readonly type: 'case-done';
      readonly deviceId: string;
      readonly taskId: number;
      readonly caseKey: string;
      readonly medianNs: number;
      /** Host time from the result line's arrival to its commit: statistics + one SQLite transaction. */
      readonly hostMs: number;
      /** The slower of the agent's two probes around the case (absent when it reported none). */
      readonly probeMaxNs?: number;
    }
  | {
      readonly type: 'case-failed';
      readonly deviceId: string;
      readonly taskId: number;
      readonly caseKey: string;
      readonly reason: string;
      readonly message: string;
      /** True when the case will be tried again (a transient failure with retries left). */
      readonly willRetry: boolean;
    }
  | { readonly type: 'device-stopped'; readonly deviceId: string; readonly reason: string }
  /** Disturbed cases go round again (disturbance.ts): `cases` more results will come. */
  | {
      readonly type: 'remeasure-start';
      readonly deviceId: string;
      readonly cases: number;
      /** The most disturbed case's probe / the run's fastest probe. */
      readonly worstRatio: number;
      readonly tolerance: number;
      /** Time waited for a calm probe first, and whether it came (else the wait's cap was reached). */
      readonly calmWaitMs: number;
      readonly calm: boolean;
    }
  /** Lab and connection news: a thermal wait, a flagged batch, a phone lost or back. */
  | { readonly type: 'device-note'; readonly deviceId: string; readonly message: string }
  | { readonly type: 'device-done'; readonly deviceId: string; readonly counts: StatusCounts };

export type EventSink = (event: SchedulerEvent) => void;
