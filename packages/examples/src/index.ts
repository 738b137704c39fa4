export { fieldClinic } from './field-clinic';
export { vetPractice } from './vet-practice';
export { demoPassword, demoUsers, fieldClinicDemoRecords, vetPracticeDemoRecords } from './demo-data';
export type { DemoUser, DemoRecord } from './demo-data';
