// How long the rest of a pipeline run will take: the training steps and held-out answers still to
// come, at the speeds measured so far in this session (seconds per optimizer step, seconds per
// evaluated question). Until one of them has been measured, the estimate leaves that part out and
// says so (`partial`).

export interface RunEta {
  seconds: number;
  /** True while some part (training or evaluation) has no measured speed yet and is left out. */
  partial: boolean;
}

export class RunClock {
  private train = { seconds: 0, n: 0 };
  private answer = { seconds: 0, n: 0 };
  private last = performance.now();
  private answered = 0;

  /** `steps`: the optimizer steps of each method in run order; `questions`: held-out questions per evaluation. */
  constructor(private readonly steps: number[], private readonly questions: number) {}

  /** A timed stretch begins: a method's training, or its evaluation. */
  start(): void {
    this.last = performance.now();
    this.answered = 0;
  }

  /** One optimizer step was taken. */
  step(): void {
    const now = performance.now();
    this.train.seconds += (now - this.last) / 1000;
    this.train.n++;
    this.last = now;
  }

  /** The evaluation has `done` questions answered. */
  evaluated(done: number): void {
    const now = performance.now();
    this.answer.seconds += (now - this.last) / 1000;
    this.answer.n += Math.max(0, done - this.answered);
    this.answered = done;
    this.last = now;
  }

  /** What is left after method `k` has taken `step` steps (training) or answered `done` questions (evaluation). */
  left(k: number, at: { step: number } | { done: number }): RunEta {
    const perStep = this.train.n ? this.train.seconds / this.train.n : null;
    const perAnswer = this.answer.n ? this.answer.seconds / this.answer.n : null;
    let steps = this.steps.slice(k + 1).reduce((a, b) => a + b, 0);
    let answers = this.questions * (this.steps.length - k - 1);
    if ('step' in at) {
      steps += Math.max(0, this.steps[k] - at.step);
      answers += this.questions;
    } else answers += Math.max(0, this.questions - at.done);
    return {
      seconds: (perStep ?? 0) * steps + (perAnswer ?? 0) * answers,
      partial: (steps > 0 && perStep === null) || (answers > 0 && perAnswer === null),
    };
  }
}
