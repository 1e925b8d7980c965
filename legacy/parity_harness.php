<?php
/**
 * Parity harness: runs PriceHelper on a batch of cases, one JSON object per
 * stdin line, and answers one JSON object per stdout line, in the same order.
 * One process serves a whole batch, so thousands of cases cost one php start.
 *
 * Request:  {"op": "calc"|"validate"|"round"|"version", "args": [<value>, ...]}
 * Response: {"ok": true,  "value": <value>, "warnings": [...]}
 *         | {"ok": false, "error": "<exception class>", "message": "...", "warnings": [...]}
 *
 * Values are tagged so that nothing is lost in JSON (floats as IEEE-754 bits,
 * strings as the hex of their bytes, PHP arrays as key/value pairs):
 *   {"t":"null"} {"t":"bool","v":true} {"t":"int","v":"-12"}
 *   {"t":"float","bits":"3ff8000000000000"}  (+ "repr", "nan", "inf" on output)
 *   {"t":"str","hex":"3132"} {"t":"array","items":[[<key>, <value>], ...]}
 */
require __DIR__ . '/priceHelper.php';

error_reporting(E_ALL);
ini_set('display_errors', 'stderr');

$warnings = [];
// Warnings ("A non-numeric value encountered") are data, not output.
set_error_handler(function ($errno, $errstr) use (&$warnings) {
    $warnings[] = $errstr;
    return true;
});

function decode_value($v)
{
    if (!is_array($v) || !isset($v['t'])) {
        throw new UnexpectedValueException('untagged value');
    }
    switch ($v['t']) {
        case 'null':
            return null;
        case 'bool':
            return (bool) $v['v'];
        case 'int':
            // Sent as a decimal string so no JSON layer can turn it into a float.
            if (!preg_match('/^-?[0-9]+$/', $v['v'])) {
                throw new UnexpectedValueException('bad int');
            }
            return intval($v['v']);
        case 'float':
            return unpack('E', hex2bin($v['bits']))[1];
        case 'str':
            return (string) hex2bin($v['hex']);
        case 'array':
            $out = [];
            foreach ($v['items'] as [$k, $item]) {
                $out[decode_value($k)] = decode_value($item);
            }
            return $out;
    }
    throw new UnexpectedValueException('unknown tag ' . $v['t']);
}

function encode_value($v)
{
    if ($v === null) {
        return ['t' => 'null'];
    }
    if (is_bool($v)) {
        return ['t' => 'bool', 'v' => $v];
    }
    if (is_int($v)) {
        return ['t' => 'int', 'v' => (string) $v];
    }
    if (is_float($v)) {
        return [
            't' => 'float',
            'bits' => bin2hex(pack('E', $v)),
            'repr' => var_export($v, true),
            'nan' => is_nan($v),
            'inf' => is_infinite($v),
        ];
    }
    if (is_string($v)) {
        return ['t' => 'str', 'hex' => bin2hex($v)];
    }
    if (is_array($v)) {
        $items = [];
        foreach ($v as $k => $item) {
            $items[] = [encode_value($k), encode_value($item)];
        }
        return ['t' => 'array', 'items' => $items];
    }
    return ['t' => 'other', 'type' => get_debug_type($v)];
}

function run_case(array $case)
{
    $args = array_map('decode_value', $case['args'] ?? []);
    switch ($case['op'] ?? null) {
        case 'calc':
            return PriceHelper::calculateAdjustedCpc(...$args);
        case 'validate':
            return PriceHelper::validateBidData(...$args);
        case 'round':
            return round(...$args);
        case 'version':
            return PHP_VERSION;
    }
    throw new UnexpectedValueException('unknown op');
}

while (($line = fgets(STDIN)) !== false) {
    if (trim($line) === '') {
        continue;
    }
    $warnings = [];
    try {
        $case = json_decode($line, true, 512, JSON_THROW_ON_ERROR);
        $value = run_case($case);
        $answer = ['ok' => true, 'value' => encode_value($value)];
    } catch (Throwable $e) {
        $answer = ['ok' => false, 'error' => get_class($e), 'message' => $e->getMessage()];
    }
    $answer['warnings'] = $warnings;
    fwrite(STDOUT, json_encode($answer, JSON_UNESCAPED_SLASHES | JSON_INVALID_UTF8_SUBSTITUTE) . "\n");
}
