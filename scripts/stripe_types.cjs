// Read the v1 object interfaces of the official `stripe` npm package's type files with the TypeScript compiler.
//
//   node scripts/stripe_types.cjs <typescript package dir> <stripe package dir>   (JSON on stdout)
//
// Run by scripts/vendor_reference.py, which fetches both packages at pinned versions. For every exported
// top-level interface of cjs/resources/**/*.d.ts that declares `object: '<literal>'` (one Stripe object type,
// or its `Deleted...` stub) it prints each field: optional (`name?: T`), nullable (`T | null`) and its type
// text; and, for a field whose type is an interface declared in the resource's own namespace
// (`Customer.InvoiceSettings`, `Array<Invoice.TotalTax>`), that nested object's fields, recursively.
// It also prints each event type with the type named under `data.object` (from `interface XEvent extends
// EventBase`). The type checker resolves inherited members, namespaces and aliases, so nothing is guessed
// from the text.
'use strict';

const path = require('path');
const fs = require('fs');

const [tsDir, stripeDir] = process.argv.slice(2);
const ts = require(path.resolve(tsDir));
const resources = path.join(path.resolve(stripeDir), 'cjs', 'resources');

function walk(dir) {
  return fs.readdirSync(dir, {withFileTypes: true}).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? walk(p) : (e.name.endsWith('.d.ts') ? [p] : []);
  }).sort();
}

// V2/ holds the v2 API (its own objects and event notifications), which the v1 simulator does not serve.
const files = walk(resources).filter((f) => !path.relative(resources, f).startsWith('V2' + path.sep));
const program = ts.createProgram(files, {strict: true, noEmit: true, skipLibCheck: true, types: []});
const checker = program.getTypeChecker();

const isExported = (node) => (ts.getCombinedModifierFlags(node) & ts.ModifierFlags.Export) !== 0;
const squash = (text) => text.replace(/\s+/g, ' ').trim();

// An interface declared inside a namespace (`Customer.InvoiceSettings`): a nested object of its resource.
function nestedInterface(type) {
  const decl = type.symbol && type.symbol.declarations && type.symbol.declarations[0];
  if (!decl) return null;
  if (ts.isInterfaceDeclaration(decl) && ts.isModuleBlock(decl.parent)) return decl;
  return null;
}

function parts(type) {
  return type.isUnion() ? type.types : [type];
}

// What an empty value of the field looks like: 'array' ([]), 'list' (an ApiList), 'hash' (a map such as
// Metadata: {}), or 'value' (anything else: a scalar, an id, an object).
function kindOf(members) {
  const present = members.filter((t) => !(t.flags & (ts.TypeFlags.Null | ts.TypeFlags.Undefined)));
  if (present.length !== 1) return 'value';
  const type = present[0];
  if (checker.isArrayType(type)) return 'array';
  const name = type.symbol ? type.symbol.getName() : '';
  if (name === 'ApiList') return 'list';
  if (name === 'Metadata') return 'hash';
  if (checker.getIndexInfosOfType(type).length > 0 && checker.getPropertiesOfType(type).length === 0) return 'hash';
  return 'value';
}

function fieldsOf(type, seen) {
  const out = {};
  for (const prop of checker.getPropertiesOfType(type)) {
    const decl = prop.valueDeclaration || (prop.declarations && prop.declarations[0]);
    const propType = checker.getTypeOfSymbolAtLocation(prop, decl);
    const members = parts(propType);
    const field = {
      optional: (prop.flags & ts.SymbolFlags.Optional) !== 0,
      nullable: members.some((t) => (t.flags & ts.TypeFlags.Null) !== 0),
      kind: kindOf(members),
      ts: decl && decl.type ? squash(decl.type.getText()) : checker.typeToString(propType),
    };
    for (const member of members) {
      let inner = member;
      let array = false;
      if (checker.isArrayType(member)) {
        inner = checker.getTypeArguments(member)[0];
        array = true;
      }
      for (const candidate of parts(inner)) {
        const nested = nestedInterface(candidate);
        if (!nested || seen.has(nested)) continue;
        const next = new Set(seen).add(nested);
        field[array ? 'items' : 'object'] = {
          interface: interfaceName(nested),
          fields: fieldsOf(candidate, next),
        };
      }
    }
    out[prop.getName()] = field;
  }
  return out;
}

function interfaceName(decl) {
  const names = [decl.name.text];
  for (let node = decl.parent; node; node = node.parent) {
    if (ts.isModuleDeclaration(node)) names.unshift(node.name.text);
  }
  const file = path.relative(resources, decl.getSourceFile().fileName).split(path.sep).join('/');
  return `${file}:${names.join('.')}`;
}

function literalOf(member) {
  if (!member || !member.type || !ts.isLiteralTypeNode(member.type)) return null;
  return ts.isStringLiteral(member.type.literal) ? member.type.literal.text : null;
}

const objects = [];
const eventTypes = {};
for (const file of files) {
  const source = program.getSourceFile(file);
  for (const stmt of source.statements) {
    if (!ts.isInterfaceDeclaration(stmt) || !isExported(stmt)) continue;
    const own = (name) => stmt.members.find((m) => m.name && m.name.getText() === name);
    const objectName = literalOf(own('object'));
    if (objectName !== null) {
      const type = checker.getDeclaredTypeOfSymbol(checker.getSymbolAtLocation(stmt.name));
      const deleted = own('deleted');
      objects.push({
        interface: interfaceName(stmt),
        object: objectName,
        deleted: Boolean(deleted && deleted.type && deleted.type.getText() === 'true'),
        fields: fieldsOf(type, new Set([stmt])),
      });
    }
    const heritage = (stmt.heritageClauses || []).flatMap((h) => h.types.map((t) => t.expression.getText()));
    const eventType = literalOf(own('type'));
    if (heritage.includes('EventBase') && eventType !== null) {
      const type = checker.getDeclaredTypeOfSymbol(checker.getSymbolAtLocation(stmt.name));
      const data = checker.getPropertyOfType(type, 'data');
      const obj = data && checker.getPropertyOfType(checker.getTypeOfSymbolAtLocation(data, stmt), 'object');
      if (!obj) throw new Error(`${interfaceName(stmt)}: no data.object`);
      const objDecl = obj.valueDeclaration;
      eventTypes[eventType] = objDecl && objDecl.type ? squash(objDecl.type.getText()) : checker.typeToString(
        checker.getTypeOfSymbolAtLocation(obj, stmt));
    }
  }
}

const version = fs.readFileSync(path.join(stripeDir, 'VERSION'), 'utf8').trim();
const apiVersion = /ApiVersion = "([^"]+)"/.exec(fs.readFileSync(path.join(stripeDir, 'cjs', 'apiVersion.d.ts'), 'utf8'))[1];
process.stdout.write(JSON.stringify({
  stripe_version: version, api_version: apiVersion, typescript_version: ts.version, objects, event_types: eventTypes,
}));
