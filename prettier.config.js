// One formatter for the code, with the line width the code keeps (`pnpm lint` checks it).
export default { printWidth: 120 };
