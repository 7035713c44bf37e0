/**
 * `{ ...base, ...fields }`, made without an object-spread literal. On the V8 of Node 20, a copy
 * by spread that then gets more properties (`{ ...a, k: v }`, `{ ...a, ...b }`, or keys added to
 * `{ ...a }` afterwards) has its objects made in the old generation, so objects that die with
 * their request fill it and bring on mark-compacts. (A loop making 3 million `{ ...a, k: v }`
 * ran 44 mark-compacts; with Object.assign, none.) In Vidai's request path such copies doubled
 * what each request promoted. Lint forbids the pattern in request-path code (eslint.config.js);
 * this is the way to write it.
 */
export function merged<Base extends object, Fields extends object>(
  base: Base,
  fields: Fields,
): Omit<Base, keyof Fields> & Fields {
  // JSON.parse makes "__proto__" an own key; assigning it would set the copy's prototype
  // (its contents read as inherited fields, and it leaves the JSON). Spread copies it as data.
  if (Object.hasOwn(base, '__proto__') || Object.hasOwn(fields, '__proto__')) {
    // eslint-disable-next-line no-restricted-syntax -- the rare safe path, see above
    return { ...base, ...fields };
  }
  return Object.assign({}, base, fields);
}
