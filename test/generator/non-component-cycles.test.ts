/**
 * A one-file spec whose schema recurses through a ref that is not a component is refused (only
 * bundled specs get such schemas hoisted, bundle-cycles.ts; generator/cycle-advice.ts says why), and
 * the error names the move that fixes it: to #/components/schemas/<a free name>.
 */
import { describe, expect, it } from 'vitest';
import { buildIrFromText, SpecError } from '../../generator/ir.js';

const fromYaml = (yaml: string) => buildIrFromText(yaml, 'inline.yaml', '0'.repeat(64));
const SCHEMA = '#/paths/~1nodes~1{id}/get/responses/200/content/application~1json/schema';

function spec(schema: string, components: string): string {
  return `openapi: 3.0.3
info: { title: t, version: '1' }
paths:
  /nodes/{id}:
    get:
      operationId: getNode
      parameters: [{ name: id, in: path, required: true, schema: { type: string } }]
      responses:
        '200':
          description: ok
          content:
            application/json:
              schema: ${schema}
components:
  schemas:
${components}`;
}

function messageOf(yaml: string): string {
  try {
    fromYaml(yaml);
  } catch (e) {
    if (e instanceof SpecError) return e.message;
    throw e;
  }
  throw new Error('expected a SpecError');
}

const propertyCycle = (more = '') => `${more}    A:
      type: object
      properties:
        b:
          type: object
          properties:
            again: { $ref: '#/components/schemas/A/properties/b' }`;

describe('a cycle through a schema that is not a component', () => {
  it('through a property: the error says to move it to components/schemas/B', () => {
    const message = messageOf(spec(`{ $ref: '#/components/schemas/A' }`, propertyCycle()));
    expect(message).toContain('#/components/schemas/A/properties/b/properties/again/$ref');
    expect(message).toContain('Move that schema to #/components/schemas/B ');
    expect(message).toContain('refer to it as "#/components/schemas/B"');
  });

  it('a taken name gets the parent in front, then a number', () => {
    expect(messageOf(spec(`{ $ref: '#/components/schemas/A' }`, propertyCycle('    B: { type: string }\n')))).toContain('#/components/schemas/AB ');
    expect(messageOf(spec(`{ $ref: '#/components/schemas/A' }`, propertyCycle('    B: { type: string }\n    AB: { type: string }\n')))).toContain('#/components/schemas/B2 ');
  });

  it('through a path: named after the path', () => {
    const message = messageOf(spec(`{ type: object, properties: { next: { $ref: '${SCHEMA}' } } }`, '    Other: { type: string }'));
    expect(message).toContain(`circular $ref "${SCHEMA}"`);
    expect(message).toContain('Move that schema to #/components/schemas/NodesId ');
  });

  it('done as the error says, the spec builds with a recursive component', () => {
    const moved = spec(`{ $ref: '#/components/schemas/A' }`, `    A:
      type: object
      properties:
        b: { $ref: '#/components/schemas/B' }
    B:
      type: object
      properties:
        again: { $ref: '#/components/schemas/B' }`);
    expect(fromYaml(moved).schemas.map((s) => s.name)).toEqual(['A', 'B']);
  });
});
