// Two classes with the same fields, for keys that `typed` separates.
export class Meters {
  value: number;
  constructor(value: number) {
    this.value = value;
  }
}

export class Feet {
  value: number;
  constructor(value: number) {
    this.value = value;
  }
}
