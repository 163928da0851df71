// Package cloudevents holds eventrunner's CloudEvent value and the structured
// JSON format of the CloudEvents 1.0 spec: parsing with attribute checks and
// encoding. It imports only the standard library and runtime/rules.
package cloudevents
