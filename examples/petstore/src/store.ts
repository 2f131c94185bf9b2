/** The pets, in memory: the handler context of this example (a real app would put a database here). */
export interface Pet {
  id: string;
  name: string;
  species: 'cat' | 'dog' | 'rabbit';
}

export class PetStore {
  private readonly pets = new Map<string, Pet>();
  private next = 1;

  add(pet: Omit<Pet, 'id'>): Pet {
    const created = { id: `pet_${this.next++}`, ...pet };
    this.pets.set(created.id, created);
    return created;
  }

  get(id: string): Pet | undefined {
    return this.pets.get(id);
  }

  remove(id: string): boolean {
    return this.pets.delete(id);
  }

  /** Oldest first: ids sort by their number. */
  all(): Pet[] {
    return [...this.pets.values()];
  }
}

export interface PetContext {
  store: PetStore;
  /** Signs list cursors. */
  cursorSecret: string;
}
