// A teacher for the sample arithmetic questions (tests/fixtures/data/arith-sample.jsonl), shared by the
// pipeline tests: it works the sum out from the question text, and is wrong on its first (greedy) try
// for every third question, so retries are exercised.
import { LETTERS } from '../../src/data/prompts';
import type { Teacher } from '../../src/teacher/teacher';

/** Every request is pushed to `calls` as `<question id>@<temperature>`. */
export function arithmeticTeacher(calls: string[] = []): Teacher {
  return {
    id: 'test-arithmetic',
    concurrency: 2,
    async generate(req) {
      calls.push(`${req.question.id}@${req.temperature}`);
      const [, a, op, b] = /(\d+) ([+-]) (\d+)/.exec(req.question.question)!;
      const v = op === '+' ? +a + +b : +a - +b;
      let i = req.question.options.indexOf(String(v));
      if (req.temperature === 0 && Number(req.question.id.slice(-1)) % 3 === 0) i = (i + 1) % req.question.options.length;
      const text = `${a}${op}${b}=${v}. [[${LETTERS[i]}]]`;
      return { text, completionTokens: text.length };
    },
  };
}
