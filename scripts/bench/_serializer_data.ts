// Deterministic JSON-compatible payloads for the serializer benchmark (shared
// with any side-by-side comparison, so every contender encodes the same data).
import { z } from "zod";

const Event = z.object({ at: z.string(), action: z.string(), amount: z.number() });
const Account = z.object({
  id: z.number(),
  name: z.string(),
  email: z.string(),
  active: z.boolean(),
  address: z.object({ street: z.string(), city: z.string(), zip: z.string(), country: z.string() }),
  roles: z.array(z.string()),
  history: z.array(Event),
});

/** A small object (~80 bytes as JSON). */
export const Small = z.object({
  id: z.number(),
  name: z.string(),
  active: z.boolean(),
  tags: z.array(z.string()),
  score: z.number(),
});
/** A medium object (~1 KB as JSON). */
export const Medium = Account;
/** A large object (~100 KB as JSON). */
export const Large = z.object({ page: z.number(), accounts: z.array(Account) });

function account(i: number): z.infer<typeof Account> {
  return {
    id: 10_000 + i,
    name: `User number ${i}`,
    email: `user${i}@example.com`,
    active: i % 3 !== 0,
    address: { street: `${i} Analytical Engine Road`, city: "London", zip: `N${i % 90} 1AB`, country: "GB" },
    roles: ["reader", i % 2 ? "writer" : "reviewer", "member"],
    history: Array.from({ length: 12 }, (_, j) => ({
      at: new Date(Date.UTC(2026, 0, 1 + j, 12, i % 60)).toISOString(),
      action: ["login", "purchase", "refund", "logout"][j % 4],
      amount: Math.round((i * 31 + j * 17) % 1000) / 10,
    })),
  };
}

/** The three payloads, by name. */
export const payloads = {
  small: { id: 42, name: "Ada Lovelace", active: true, tags: ["admin", "math"], score: 98.5 },
  medium: account(1),
  large: { page: 1, accounts: Array.from({ length: 100 }, (_, i) => account(i)) },
};
