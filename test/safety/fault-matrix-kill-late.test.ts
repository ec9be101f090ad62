// Fault matrix, SIGKILL at step boundaries of planned-failover (second half of its steps), then
// `apply --resume`: the resumed run finishes the failover, FAILOVER is never sent twice (a FAILOVER
// that may have happened is verified from the roles, not repeated), nothing committed is lost,
// and the resumed run's summary matches the lab.
// The tests themselves are in test/helpers/kill-resume-matrix.ts (shared with the other half).
import { test } from 'uvu';
import { killAtStepMatrix } from '../helpers/kill-resume-matrix.js';

killAtStepMatrix('late');

test.run();
