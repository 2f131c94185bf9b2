/** Handlers for the "pets" operations. `generate` adds a stub here for each new operation. */
import { NotFoundError, pageOf } from '@lavendly/framework';
import type { PetsHandlers } from '../generated/handlers.gen.js';
import type * as T from '../generated/types.gen.js';
import type { PetContext } from '../src/store.js';

/** Pet ids sort by their number, so the cursor key is that number. */
const idNumber = (pet: { id: string }) => Number(pet.id.slice('pet_'.length));

export const pets = {
  /** GET /pets: List pets, oldest first */
  async listPets(input: T.ListPetsInput, ctx: PetContext): Promise<T.ListPetsResult> {
    const page = pageOf(ctx.store.all(), { limit: input.query.limit, cursor: input.query.cursor, secret: ctx.cursorSecret, scope: 'pets', key: idNumber });
    return { status: 200, body: page };
  },
  /** POST /pets: Add a pet */
  async createPet(input: T.CreatePetInput, ctx: PetContext): Promise<T.CreatePetResult> {
    return { status: 201, body: ctx.store.add(input.body) };
  },
  /** GET /pets/{petId}: One pet */
  async getPet(input: T.GetPetInput, ctx: PetContext): Promise<T.GetPetResult> {
    const pet = ctx.store.get(input.path.petId);
    if (!pet) throw new NotFoundError('pet', input.path.petId);
    return { status: 200, body: pet };
  },
  /** DELETE /pets/{petId}: Remove a pet */
  async deletePet(input: T.DeletePetInput, ctx: PetContext): Promise<T.DeletePetResult> {
    if (!ctx.store.remove(input.path.petId)) throw new NotFoundError('pet', input.path.petId);
    return { status: 204 };
  },
} satisfies PetsHandlers<PetContext>;
