import assert from 'node:assert/strict';
import { test } from 'node:test';
import { denseMacs, outputHeight, shapeKey } from '../shape.ts';
import type { ModelTable } from '../types.ts';
import { getModel, MODEL_NAMES, MODELS } from './index.ts';

function totalMacs(model: ModelTable): number {
  return model.layers.reduce((sum, layer) => sum + denseMacs(layer.shape), 0);
}

function layer(model: ModelTable, name: string) {
  const found = model.layers.find((candidate) => candidate.name === name);
  assert.ok(found, `${model.name} has no layer ${name}`);
  return found.shape;
}

// Published totals (multiply-adds, batch 1): torchvision's model docs list 4.09 and 0.30 "GFLOPS" for
// ResNet-50 and MobileNet-V2 (they count MACs); kuangliu/pytorch-cifar-style ResNet-18 and VGG-16 on
// CIFAR-10 are 0.56 and 0.31 GMACs (e.g. the thop/ptflops figures quoted in the pruning literature).
const PUBLISHED_GMACS: Record<(typeof MODEL_NAMES)[number], number> = {
  'resnet50-imagenet': 4.09,
  'mobilenetv2-imagenet': 0.3,
  'resnet18-cifar10': 0.56,
  'vgg16-cifar10': 0.31,
  // Howard et al. 2017, Table 1 (MobileNet-V1 1.0 224): 569 million multiply-adds.
  'mobilenetv1-imagenet': 0.569,
  // Sandler et al. 2018, Table 6 and the TF-Slim zoo (MobileNet-V2 0.75 224): 209 million multiply-adds.
  'mobilenetv2-0.75-imagenet': 0.209,
};

for (const name of MODEL_NAMES) {
  test(`${name}: total MACs within 3% of the published figure`, () => {
    const gmacs = totalMacs(MODELS[name]) / 1e9;
    const published = PUBLISHED_GMACS[name];
    assert.ok(
      Math.abs(gmacs - published) / published < 0.03,
      `${name}: ${gmacs.toFixed(4)} GMACs vs ${published}`,
    );
  });

  test(`${name}: layer names are unique and every layer has a positive output`, () => {
    const model = MODELS[name];
    assert.equal(new Set(model.layers.map((l) => l.name)).size, model.layers.length);
    for (const { name: layerName, shape } of model.layers) {
      assert.ok(outputHeight(shape) >= 1, `${layerName} has no output`);
      if (shape.op === 'dwconv')
        assert.equal(shape.cin, shape.cout, `${layerName}: depthwise keeps channels`);
    }
  });
}

test('layer counts: 13+1 (VGG-16), 20+1 (ResNet-18), 53+1 (ResNet-50), 52+1 (MobileNet-V2 at both widths), 27+1 (MobileNet-V1)', () => {
  const counts = MODEL_NAMES.map((name) => MODELS[name].layers.length);
  assert.deepEqual(counts, [14, 21, 54, 53, 28, 53]);
  assert.equal(MODELS['mobilenetv1-imagenet'].layers.filter((l) => l.shape.op === 'dwconv').length, 13);
  assert.equal(MODELS['vgg16-cifar10'].layers.filter((l) => l.shape.op === 'conv').length, 13);
  assert.equal(MODELS['mobilenetv2-imagenet'].layers.filter((l) => l.shape.op === 'dwconv').length, 17);
});

test('mobilenetv2-0.75-imagenet: channels x 0.75 rounded to multiples of 8 as torchvision does, last 1x1 kept at 1280', () => {
  const model = MODELS['mobilenetv2-0.75-imagenet'];
  const full = MODELS['mobilenetv2-imagenet'];
  assert.deepEqual(
    model.layers.map((l) => l.name),
    full.layers.map((l) => l.name),
  );
  assert.equal(shapeKey(layer(model, 'features.0.0')), 'conv 3->24 k3 s2 p1 @224x224');
  // 16 x 0.75 = 12 rounds up to 16 (8 would be more than 10% down); 24 x 0.75 = 18 rounds to 24 for the same reason.
  assert.equal(shapeKey(layer(model, 'features.1.conv.1')), 'conv 24->16 k1 s1 p0 @112x112');
  assert.equal(shapeKey(layer(model, 'features.2.conv.2')), 'conv 96->24 k1 s1 p0 @56x56');
  assert.equal(shapeKey(layer(model, 'features.17.conv.2')), 'conv 720->240 k1 s1 p0 @7x7');
  assert.equal(shapeKey(layer(model, 'features.18.0')), 'conv 240->1280 k1 s1 p0 @7x7');
  assert.equal(layer(model, 'classifier.1').cin, 1280);
});

test('resnet18-cifar10: 3x3 stem at 32x32, stride on the first 3x3 of a stage, 1x1 stride-2 shortcut', () => {
  const model = MODELS['resnet18-cifar10'];
  assert.equal(shapeKey(layer(model, 'conv1')), 'conv 3->64 k3 s1 p1 @32x32');
  assert.equal(shapeKey(layer(model, 'layer2.0.conv1')), 'conv 64->128 k3 s2 p1 @32x32');
  assert.equal(shapeKey(layer(model, 'layer2.0.conv2')), 'conv 128->128 k3 s1 p1 @16x16');
  assert.equal(shapeKey(layer(model, 'layer2.0.downsample.0')), 'conv 64->128 k1 s2 p0 @32x32');
  assert.equal(shapeKey(layer(model, 'layer4.1.conv2')), 'conv 512->512 k3 s1 p1 @4x4');
  assert.equal(shapeKey(layer(model, 'fc')), 'fc 512->10');
  assert.equal(
    model.layers.some((l) => l.name === 'layer1.0.downsample.0'),
    false,
    'stage 1 keeps 64 channels at stride 1: identity shortcut',
  );
});

test('vgg16-cifar10: torchvision vgg16_bn feature indices, five pools, one FC 512->10', () => {
  const model = MODELS['vgg16-cifar10'];
  assert.deepEqual(
    model.layers.map((l) => l.name),
    [0, 3, 7, 10, 14, 17, 20, 24, 27, 30, 34, 37, 40].map((i) => `features.${i}`).concat('classifier'),
  );
  assert.equal(shapeKey(layer(model, 'features.14')), 'conv 128->256 k3 s1 p1 @8x8');
  assert.equal(shapeKey(layer(model, 'features.40')), 'conv 512->512 k3 s1 p1 @2x2');
});

test('resnet50-imagenet: 7x7/2 stem, stride on the 3x3 (v1.5), projection shortcuts', () => {
  const model = MODELS['resnet50-imagenet'];
  assert.equal(shapeKey(layer(model, 'conv1')), 'conv 3->64 k7 s2 p3 @224x224');
  assert.equal(shapeKey(layer(model, 'layer1.0.downsample.0')), 'conv 64->256 k1 s1 p0 @56x56');
  assert.equal(shapeKey(layer(model, 'layer2.0.conv1')), 'conv 256->128 k1 s1 p0 @56x56');
  assert.equal(shapeKey(layer(model, 'layer2.0.conv2')), 'conv 128->128 k3 s2 p1 @56x56');
  assert.equal(shapeKey(layer(model, 'layer2.0.conv3')), 'conv 128->512 k1 s1 p0 @28x28');
  assert.equal(shapeKey(layer(model, 'layer2.0.downsample.0')), 'conv 256->512 k1 s2 p0 @56x56');
  assert.equal(shapeKey(layer(model, 'layer4.2.conv3')), 'conv 512->2048 k1 s1 p0 @7x7');
  assert.equal(shapeKey(layer(model, 'fc')), 'fc 2048->1000');
});

test('mobilenetv2-imagenet: torchvision module paths and inverted-residual shapes', () => {
  const model = MODELS['mobilenetv2-imagenet'];
  assert.equal(shapeKey(layer(model, 'features.0.0')), 'conv 3->32 k3 s2 p1 @224x224');
  assert.equal(shapeKey(layer(model, 'features.1.conv.0.0')), 'dwconv 32->32 k3 s1 p1 @112x112');
  assert.equal(shapeKey(layer(model, 'features.1.conv.1')), 'conv 32->16 k1 s1 p0 @112x112');
  assert.equal(shapeKey(layer(model, 'features.2.conv.0.0')), 'conv 16->96 k1 s1 p0 @112x112');
  assert.equal(shapeKey(layer(model, 'features.2.conv.1.0')), 'dwconv 96->96 k3 s2 p1 @112x112');
  assert.equal(shapeKey(layer(model, 'features.2.conv.2')), 'conv 96->24 k1 s1 p0 @56x56');
  assert.equal(shapeKey(layer(model, 'features.17.conv.2')), 'conv 960->320 k1 s1 p0 @7x7');
  assert.equal(shapeKey(layer(model, 'features.18.0')), 'conv 320->1280 k1 s1 p0 @7x7');
  assert.equal(shapeKey(layer(model, 'classifier.1')), 'fc 1280->1000');
});

test('getModel: a table by name, undefined for an unknown name', () => {
  assert.equal(getModel('resnet18-cifar10'), MODELS['resnet18-cifar10']);
  assert.equal(getModel('resnet19'), undefined);
});
